"""A BERT classifier whose head reads the mean of the token vectors (sentence-transformers pooling).

``BertForSequenceClassification`` feeds its head the first token through a pooler layer;
sentence encoders such as all-MiniLM-L6-v2 were pre-trained to be read through the mean
of their token vectors instead. This class does that, so a linear head trained on frozen
mean-pooled vectors can be saved as a Hugging Face folder: ``save_pretrained`` copies this
file into the folder, and ``pipeline("text-classification", model=folder,
trust_remote_code=True)`` loads it. The file imports only torch and transformers.
"""

import torch
from transformers import BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput


class BertMeanPoolingForSequenceClassification(BertPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.classifier = torch.nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], device=hidden.device)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        logits = self.classifier((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))
        loss = torch.nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)
