"""The control: the same architecture as all-MiniLM-L6-v2, randomly initialised, trained the same way.

Same configuration (6 layers, 384 wide, 22.7 M parameters), same tokenizer, same new
head, same loop, learning rate, epochs and label counts as full fine-tuning on the
pre-trained checkpoint; the only difference is that no pre-trained weight is loaded. The
gap between the two is what pre-training contributes.

    python snippets/transfer_knowledge_to_downstream_tasks/random_init_control.py --scale ci
"""

from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from fieldguide import ResultsWriter, model_folder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.classification import (ID2LABEL, epochs_for, fine_tune, label_efficiency, predict, record,
                                       save_classifier, sentiment_splits)

PRESETS = {  # the full fine-tuning presets, so the two are trained the same way
    "ci": {"counts": [8, 32, 128, 480], "seeds": [0, 1, 2], "epochs": 3, "min_examples": 160,
           "lr": 1e-4, "batch_size": 16, "max_length": 64},
    "gpu": {"counts": [8, 16, 32, 64, 128, 256, 480], "seeds": list(range(10)), "epochs": 5,
            "min_examples": 320, "lr": 5e-5, "batch_size": 16, "max_length": 128},
}


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    splits = sentiment_splits()
    writer = ResultsWriter(args.out, "transfer_knowledge_to_downstream_tasks/random_init_control", args)
    folder = model_folder(args.model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = AutoConfig.from_pretrained(folder, num_labels=len(ID2LABEL), id2label=ID2LABEL,
                                        label2id={v: k for k, v in ID2LABEL.items()})

    def train(subset, seed):
        seed_everything(args.seed + seed)
        model = AutoModelForSequenceClassification.from_config(config).to(device)  # random weights
        fine_tune(model, tokenizer, subset, epochs=epochs_for(len(subset), preset["epochs"], preset["min_examples"]),
                  lr=preset["lr"], batch_size=preset["batch_size"], max_length=preset["max_length"],
                  seed=args.seed + seed, desc=f"random init, {len(subset)} labels")
        return model, lambda texts: predict(model, tokenizer, texts, preset["max_length"])

    print(f"randomly initialised {config.num_hidden_layers}-layer BERT (MiniLM-L6 shape), on {device}")
    headline, runs, model = label_efficiency("random-init control (same training)", train, splits,
                                             preset["counts"], preset["seeds"], device)
    record(writer, [headline], runs)
    saved = save_classifier(model, tokenizer, args.out / "model")
    print(f"saved the control trained on all labels in {saved}")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    run_main(main, parser)
