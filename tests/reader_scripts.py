"""What runs in a reader's own environment, outside the repository: small scripts written
into it as files. Used by the take-home test, the saved-classifier test and ``dev.sh drift``."""

HOME_DRIVER = r'''
"""Run in the fresh environment: --help for every copied snippet, then each --data format's bad files."""
import json, sys
from pathlib import Path
tools, snippets, data_snippets, scratch = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3]), Path(sys.argv[4])
sys.path.insert(0, tools)  # the copied harness (its run() sets sys.argv for each case)
import snippet_cli_harness as harness
import fieldguide

report = {"fieldguide_file": fieldguide.__file__, "help": {}, "bad_data": {}}
for path in sorted(snippets.rglob("*.py")):
    shown = harness.run(str(path), ["--help"])
    report["help"][path.relative_to(snippets).as_posix()] = {
        "exit": shown["exit"], "traceback": shown["traceback"], "data_kind": (harness.data_kind(shown["stdout"]) or [None])[0],
        "has_presets": "ci:" in shown["stdout"] and "gpu:" in shown["stdout"]}
for kind, name in data_snippets.items():
    path = snippets / f"{name}.py"
    folder = scratch / kind
    folder.mkdir(parents=True)
    cases = harness.data_cases(harness.data_kind(harness.run(str(path), ["--help"])["stdout"]), folder)
    for case, argv in cases.items():
        out = folder / ("out-" + case.replace(" ", "-"))
        result = harness.run(str(path), [*argv, "--out", str(out)])
        errors = [line for line in result["stderr"].splitlines() if "error:" in line]
        report["bad_data"][f"{kind}: {case}"] = {
            "exit": result["exit"], "traceback": result["traceback"], "errors": errors,
            "file": Path(argv[1]).name, "out_left": out.exists()}
print(json.dumps(report))
'''

PIPELINE_CHECK = r'''
import json, sys
from transformers import pipeline
classifier = pipeline("text-classification", model=sys.argv[1])
texts = ["I was charged twice this month.", "My parcel never came.", "I cannot sign in.", "Thanks, you were great!"]
print(json.dumps({"id2label": {str(k): v for k, v in classifier.model.config.id2label.items()},
                  "predicted": [p["label"] for p in classifier(texts)]}))
'''


# A reader's project: sentence-transformers and transformers, no fieldguide.
LOAD_WITHOUT_FIELDGUIDE = r"""
import json, sys

class NoFieldguide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "fieldguide":
            raise ImportError("fieldguide is not installed in this project")

sys.meta_path.insert(0, NoFieldguide())
from sentence_transformers import SentenceTransformer
from transformers import AutoConfig

folder, texts = sys.argv[1], json.loads(sys.argv[2])
model = SentenceTransformer(folder, device="cpu")
logits = model.encode(texts, convert_to_tensor=True)
id2label = AutoConfig.from_pretrained(folder).id2label
print(json.dumps({"logits": logits.tolist(), "labels": [id2label[i] for i in range(len(id2label))],
                  "predicted": [id2label[int(i)] for i in logits.argmax(-1)]}))
"""

# The run's own classifier, as the snippet's saver reads it back: the reference for the above.
LOAD_WITH_FIELDGUIDE = r"""
import json, sys
import torch
from fieldguide.mean_pooled import load_mean_pooled

folder, texts = sys.argv[1], json.loads(sys.argv[2])
model, tokenizer, labels, max_length = load_mean_pooled(folder)
with torch.no_grad():
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
print(json.dumps({"logits": logits.tolist(), "labels": list(labels),
                  "predicted": [labels[int(i)] for i in logits.argmax(-1)]}))
"""
