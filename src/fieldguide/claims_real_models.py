"""Claims about the runs of real checkpoints (all-MiniLM-L6-v2, SmolLM2-135M-Instruct), declared
once: each snippet's test asserts them (``assert_claims``) and its page shows them where it states
them (``{{ claim <snippet> <id> }}``).

The bands are the thresholds the tests asserted before they moved here, unchanged; the comments
say what was measured. ``fieldguide.claims`` merges these into ``CLAIMS`` at its end: import
them from there (importing this module first would be a circular import).
"""

from __future__ import annotations

from fieldguide.claims import Claim

C = Claim
REAL_MODEL_CLAIMS: dict[str, list[Claim]] = {
    "activating_pretrained_knowledge/smollm2_capitals": [
        # Before: it knows many capitals but almost never answers in the bare format.
        C("bare_format_rare", "Before fine-tuning it answers almost none of the held-out countries in the bare format.",
          "exact_before <= 0.05 * n_heldout"),
        C("knows_many_capitals", "Asked plainly, it names the right capital for at least a quarter of them.",
          "known_before >= 0.25 * n_heldout"),
        # After the gentle recipe: a large share of what the probe found known, on held-out countries...
        # measured 33 of the 69 known (48 %): right answers among the known, over the known
        C("gentle_about_half_of_known", "The gentle recipe answers about half (40-60 %) of the countries known "
          "before exactly.", "0.4 * known_before <= gentle_exact * gentle_right_known_share <= 0.6 * known_before"),
        # ...overwhelmingly countries it already knew; unknown ones mostly stay wrong.
        C("gentle_right_where_known", "Its correct answers are overwhelmingly countries it already knew.",
          "gentle_right_known_share >= 0.85"),
        C("gentle_unknown_stay_wrong", "Of the countries it did not know, few became correct.",
          "gentle_unknown_learned_share <= 0.10"),
        # The desired answers became much more likely, training a tiny share of parameters.
        C("gentle_logprob_rises", "The log-probability of the desired answers rises by at least 2 nats.",
          "gentle_logprob >= logprob_before + 2.0"),
        C("gentle_tiny_share", "The gentle recipe trains at most 2 % of the parameters.",
          "gentle_trainable_share <= 0.02"),
        # The gentle recipe keeps what the model knew; the aggressive one destroys much of it
        # and gets fewer held-out answers right, though it trains on the same 48 countries.
        C("gentle_keeps_knowledge", "After the gentle recipe it still knows at least 90 % of the capitals it knew.",
          "gentle_knowledge_kept_share >= 0.9"),
        C("aggressive_damages_knowledge", "The aggressive recipe keeps at most 80 % of what the gentle one keeps.",
          "aggressive_knowledge_kept <= 0.8 * gentle_knowledge_kept"),
        C("aggressive_fewer_right", "The aggressive recipe gets fewer held-out countries right than the gentle one.",
          "aggressive_exact < gentle_exact"),
        # ...while fitting its own training countries better: memorising, not activating.
        C("aggressive_memorises", "Yet it fits its own training countries at least 20 points better.",
          "aggressive_train_exact >= gentle_train_exact + 0.2"),
        # The two crossed arms change one factor each (measured, ci: knowledge kept 65 gentle, 38
        # aggressive, 43 MLP at the high rate, 66 every layer at the gentle rate; update norm 0.3 %
        # gentle and every-layer-gentle, 1.2-1.3 % at the high rate)
        C("learning_rate_damages", "At the aggressive learning rate, LoRA on the MLP alone also loses much "
          "of the knowledge.", "mlp_high_lr_knowledge_kept <= 0.8 * gentle_knowledge_kept"),
        C("targets_do_not_damage", "LoRA on every linear layer at the gentle rate keeps what the gentle recipe keeps.",
          "every_layer_low_lr_knowledge_kept >= 0.95 * gentle_knowledge_kept"),
        C("gentle_update_small", "The gentle update is under 1 % of the adapted weights' norm, the aggressive "
          "one over twice as large.", "gentle_relative_update < 0.01 and "
          "aggressive_relative_update > 2 * gentle_relative_update"),
        # measured 1.2 % (MLP, high rate) and 0.3 % (every layer, gentle rate) against 0.3 % gentle
        C("update_follows_rate", "The update's size follows the rate: over twice the gentle one at the high rate "
          "on the MLP alone, under twice it on every layer at the gentle rate.",
          "mlp_high_lr_relative_update > 2 * gentle_relative_update and "
          "every_layer_low_lr_relative_update < 2 * gentle_relative_update"),
        # The probes (measured, ci: free-form 69 of 125 with two phrasings, 68 with one; ranked first
        # among 5 candidates 100; by both 68; by neither 24; the gentle recipe's 36 right answers were
        # all ranked first before, and none of the 24 unknown to both became right).
        C("second_phrasing_adds_little", "A second phrasing of the plain question finds hardly any more "
          "known capitals.", "known_before <= known_before_one_phrasing + 0.05 * n_heldout"),
        C("ranking_finds_more", "The ranking probe credits clearly more capitals than the free-form one.",
          "ranked_first_before >= known_before + 0.1 * n_heldout"),
        C("gentle_right_ranked_first", "Nearly all of the gentle recipe's right answers were ranked first "
          "before fine-tuning.", "gentle_right_ranked_share >= 0.9"),
        C("unknown_to_both_stay_wrong", "Of the countries unknown to both probes, almost none became right.",
          "gentle_unknown_to_both_learned_share <= 0.1"),
        C("gentle_right_few_unknown_to_both", "At most two of the gentle recipe's right answers were unknown to "
          "both probes.", "gentle_right_unknown_to_both <= 2"),  # measured 0
        # Outside the training relation (measured, ci: 35 of 60 general facts known before; kept 20
        # gentle, 11 aggressive, 16 MLP at the high rate, 22 every layer at the gentle rate; of the
        # gentle recipe's 15 lost, 5 answered with a piece of the question).
        C("general_knowledge_costs", "Activation costs knowledge outside the training relation: the gentle "
          "recipe keeps at most 80 % of the general facts, clearly less than of the capitals.",
          "gentle_general_kept_share <= 0.8 and gentle_general_kept_share < gentle_knowledge_kept_share - 0.1"),
        C("aggressive_costs_more_general", "The aggressive recipe keeps fewer general facts than the gentle one.",
          "aggressive_general_kept < gentle_general_kept"),
        C("lost_answers_echo_the_question", "Some of the general facts the gentle recipe lost are answered "
          "with a piece of the question itself.", "gentle_general_echoes >= 2"),
    ],
    "applications_of_ptms/one_encoder_many_uses": [
        # The page says: with no training at all, every use is far above chance.
        C("routing_above_chance", "Nearest-neighbour routing is right more than four times as often as chance.",
          "routing_accuracy > 4 * (1 / n_domains)"),
        C("sentiment_above_chance", "A 5-neighbour vote gets sentiment right more than 15 points above chance (33 %).",
          "knn_sentiment_accuracy > 0.33 + 0.15"),
        # chance for purity is a random grouping of the same sizes (about 0.12-0.13 here), not 1/20
        C("clusters_above_chance", "k-means clusters are more than twice as pure as random groups of the same sizes.",
          "cluster_purity > 2 * random_grouping_purity"),
    ],
    "discarding_pretraining_head/new_head_full_fine_tuning": [
        C("nothing_frozen", "Every one of the model's more than 22 million parameters trains.",
          "trainable == total_params > 22_000_000"),  # nothing frozen
        # issue 4 target: >= 85 % test accuracy with <= 500 labels
        C("accuracy_target", "With all 480 labels full fine-tuning reaches at least 85 % test accuracy.",
          "accuracy >= 0.85"),
        C("macro_f1_target", "Its macro-F1 is at least 0.85.", "macro_f1 >= 0.85"),
    ],
    "downstream_task_and_architecture/heads_on_one_body": [
        C("same_body", "Every head sits on the same pre-trained body.", "all_same_body is True"),
        C("body_size", "The shared body has more than 22 million pre-trained parameters.",
          "body_params > 22_000_000"),
        # New parameters are exactly the head: hidden size 384 times the outputs, plus biases.
        C("classifier_head_size", "A 3-way classifier adds exactly 384 x 3 weights and 3 biases.",
          "classifier_new_params == 384 * 3 + 3"),
        C("tagger_head_size", "A 5-tag token tagger adds exactly 384 x 5 weights and 5 biases.",
          "token_tagger_new_params == 384 * 5 + 5"),
        C("qa_head_size", "Span extraction adds exactly 384 x 2 weights and 2 biases.",
          "qa_new_params == 384 * 2 + 2"),
        C("heads_tiny", "No head is more than 0.01 % of the model.", "max_new_share < 0.0001"),
        # chance, give or take the noise of 240 examples
        C("untrained_at_chance", "Untrained, the sentiment head scores about chance (33.3 %).",
          "0.20 <= untrained_head_accuracy <= 0.45"),
    ],
    "efficiency_of_prompting/prompt_vs_trained_head": [
        # measured (ci, 2-core Xeon; seed 0 / --seed 1 / ATEN_CPU_CAPABILITY=default), 72 test messages:
        # calibrated prompt k=0 50.0 %, k=1 39.4 / 38.4 / 39.4 %, k=8 56.9 / 55.6 / 56.9 % (draws 54-61 %);
        # raw one-example prompts put 100 % of messages on one label; the head 77.8 % (all three); the
        # head trained on the prompt's 8 examples 46.3 / 44.0 / 46.3 %.
        C("one_example_one_label", "With one example in the prompt the raw scores give (nearly) every message "
          "the same label.", "one_shot_raw_top_share >= 0.9"),
        C("one_example_hurts", "Calibrated, the one-example prompt scores below the zero-shot one.",
          "one_shot_accuracy < zero_shot_accuracy"),
        C("more_examples_help", "The prompt with the most examples beats zero-shot, and the one-example prompt "
          "by at least 8 points.", "k_max_accuracy > zero_shot_accuracy and k_max_accuracy >= one_shot_accuracy + 0.08"),
        C("head_beats_every_prompt", "The head trained on every label beats every prompt by at least 10 points.",
          "head_accuracy >= best_prompt_accuracy + 0.10"),
        C("prompt_wins_at_equal_labels", "Given only the prompt's own examples, the same head scores at least "
          "5 points below the prompt.", "k_max_accuracy >= k_max_head_same_examples + 0.05"),
        # Costs are ratios, never absolute seconds (measured: prompt tokens 72 -> 475 / 488; the whole
        # prompt recomputed 8.1 / 7.5 / 9.3x the cached one at k=8; cheapest prompt 14 / 13 / 13x the
        # head per query; peak memory 1692 / 1895 MB against 210 / 185 MB; log-probabilities cached
        # vs recomputed differ by 2.4e-5 at most; break-even 40 / 40 / 37 queries).
        C("prompt_grows_with_examples", "The prompt with the most examples is at least four times as many tokens "
          "as the zero-shot one.", "k_max_prompt_tokens >= 4 * zero_shot_prompt_tokens"),
        C("caching_pays", "Recomputing the whole prompt costs at least three times the cached query.",
          "k_max_uncached_over_cached >= 3"),
        C("caching_same_answer", "Caching the prefix leaves the label log-probabilities unchanged (within 0.001).",
          "cache_max_difference <= 1e-3"),
        C("head_cheaper_per_query", "Even the cheapest cached prompt costs at least four times the head per query.",
          "cheapest_prompt_over_head >= 4"),
        C("prompt_needs_more_memory", "The prompt needs at least three times the head's peak memory.",
          "prompt_peak_mb >= 3 * head_peak_mb"),
        C("break_even_small", "Against the cheapest prompt, the head's training pays for itself within a few "
          "hundred queries (CPU seconds).", "0 < break_even_queries <= 500"),
    ],
    "fine_tuning_pretrained_models_downstream/gentle_vs_harsh": [
        # Gentle: the weights move by a few per cent at most, and accuracy goes from chance to > 75 %.
        C("gentle_learns", "The gentle run reaches more than 75 % on held-out messages.", "gentle_accuracy > 0.75"),
        C("gentle_moves_little", "It moves the transformer layers by less than 5 % of their size.",
          "gentle_change_layers < 0.05"),
        # Harsh: the weights move several times further and the result is worse.
        C("harsh_moves_more", "The harsh run moves them more than three times as far.",
          "harsh_change_layers > 3 * gentle_change_layers"),
        C("harsh_worse", "The harsh run ends more than 15 points below the gentle one.",
          "harsh_accuracy < gentle_accuracy - 0.15"),
        # measured 0.333 (every message one label): the pre-trained start is lost; the band leaves
        # seven points above chance (1/3) for another CPU's trajectory
        C("harsh_at_chance", "The harsh run ends near chance: the pre-trained start is lost.",
          "harsh_accuracy <= 0.40"),
        # measured 100 %: every test message gets the same label
        C("harsh_one_class", "The harsh run gives at least 90 % of the test messages one and the same label.",
          "harsh_top_label_share >= 0.90"),
    ],
    "fine_tuning_sequence_encoding_models/lora_encoder": [
        C("small_share", "LoRA trains less than 2 % of the model.", "trainable_share < 0.02"),
        C("accuracy_80", "With all 480 labels LoRA reaches at least 80 % test accuracy.", "accuracy >= 0.80"),
    ],
    "fine_tuning_standard_adaptation_llms/sft_full_vs_lora": [
        # LoRA trains a few percent of the weights; full fine-tuning trains all of them
        C("full_trains_all", "Full fine-tuning trains every weight.", "full_trainable_share == 1.0"),
        C("lora_few_percent", "LoRA trains less than 3 % of the model.", "lora_trainable_share < 0.03"),
        # both learn: held-out loss on the responses falls clearly
        C("full_learns", "Full fine-tuning lowers the held-out loss on the responses by more than 0.3.",
          "full_heldout < heldout_before - 0.3"),
        C("lora_learns", "LoRA lowers the held-out loss on the responses by more than 0.3.",
          "lora_heldout < heldout_before - 0.3"),
        # "loses nothing measurable": LoRA's held-out loss is not above full fine-tuning's (measured
        # 1.787 against 1.878; the 0.05 margin is for another CPU's rounding, not a loss allowed)
        C("lora_near_full", "LoRA's held-out loss is no higher than full fine-tuning's (within 0.05).",
          "lora_heldout <= full_heldout + 0.05"),
        # the reason to mask the prompt: most tokens are prompt/template, and training on them
        # leaves the responses worse off than training on the responses alone
        C("responses_minority", "Fewer than 35 % of the training tokens are response tokens.",
          "response_token_share < 0.35"),
        C("masking_helps", "With the prompt masked the held-out response loss is more than 0.1 lower.",
          "lora_heldout < lora_all_tokens_heldout - 0.1"),
        # full fine-tuning holds gradients and AdamW moments for every weight
        C("full_memory", "Full fine-tuning adds more than twice LoRA's memory.",
          "full_peak_mb > 2 * lora_peak_mb"),
        # measured (ci, one CPU): 4.263 -> 1.408 nats on all held-out tokens with the loss on every
        # token; a 1-nat band leaves wide room for another CPU
        C("all_tokens_loss_drops", "With the loss on every token, the held-out loss on all tokens drops by more "
          "than a nat.", "lora_all_tokens_heldout_all_tokens < heldout_all_tokens_before - 1.0"),
    ],
    "fine_tuning_strategies/strategies_on_one_task": [
        # Six arms, one mean-pooled readout, one recipe, a rate tuned per arm on validation (240 labels).
        # The counts follow from what each arm trains (exact, any machine): the head is 384 x 3 + 3;
        # IA3 one vector per key, value and feed-forward input in each of 6 layers; LoRA r=8 on 12 matrices.
        C("probe_counted", "The linear probe trains the head alone.", "probe_trainable == 384 * 3 + 3"),
        C("ia3_counted", "IA3 trains 384 + 384 + 1,536 scales in each of the six layers, and the head.",
          "ia3_trainable == 6 * (384 + 384 + 1536) + 384 * 3 + 3"),
        C("lora_counted", "LoRA trains 8 x (384 + 384) per adapted matrix, twelve of them, and the head.",
          "lora_trainable == 12 * 8 * (384 + 384) + 384 * 3 + 3"),
        # Measured at ci on seed 0, seed 1 and ATEN_CPU_CAPABILITY=default (the last identical to seed 0):
        # control 59.6 / 59.2 %, weakest pre-trained arm (the probe) 75.4 / 77.5 %: gap 15.8 / 18.3 points;
        # top 2, LoRA, IA3, full 85.4, 84.2, 86.2, 86.7 / 85.8, 85.0, 86.2, 87.1 %: spread 2.5 / 2.1 points,
        # the probe 8.8 / 7.5 points below the weakest of them. Full fine-tuning was first every time,
        # by 0.4 / 0.8 points (1-2 test messages): not claimed.
        C("control_far_below", "Every pre-trained arm is at least 10 points above the random-init control.",
          "control_gap_points >= 10"),
        # "worth more than any choice among the strategies": the control's gap exceeds the spread of the
        # pre-trained arms, probe included (measured 15.8 against 11.3; seed 1: 18.3 against 9.6)
        C("start_matters_most", "The control's gap is larger than the spread among all pre-trained arms.",
          "control_gap_points > pretrained_spread_points"),
        C("adapted_close", "The four arms that adapt the body end within 6 points of one another.",
          "adapted_spread_points <= 6"),
        C("probe_behind", "The linear probe ends at least 3 points below every arm that adapts the body.",
          "probe_below_adapted_points >= 3"),
        # Full fine-tuning read through [CLS] + pooler instead of the mean: -2.1 / +5.4 points (mean minus
        # [CLS]); the sign changed with the seed. On a frozen body the same swap costs 18.3 points.
        C("readout_small_when_trained", "Read through [CLS] instead of the mean, full fine-tuning moves by less "
          "than 9 points, either way.", "abs(full_mean_minus_cls_points) < 9"),
        # ...and less than the strategy gap with one readout (full minus probe 11.3 / 9.6 points).
        C("strategy_gap_exceeds_readout", "With one readout, full fine-tuning's lead over the probe is larger "
          "than the readout swap moves full fine-tuning.", "full_minus_probe_points > abs(full_mean_minus_cls_points)"),
    ],
    "freezing_encoder_parameters/frozen_encoder_linear_head": [
        C("one_linear_head", "Each head is one 384 x 3 linear layer; the body is frozen.",
          "trainable == cls_trainable == 384 * 3 + 3"),  # one linear head each; body frozen
        C("frozen_body_size", "The frozen body has more than 22 million parameters.",
          "frozen_params > 22_000_000"),
        C("total_is_body_plus_head", "The mean-pooled model is the frozen body plus its head.",
          "total_params == frozen_params + trainable"),
        C("cls_total_adds_pooler", "The [CLS] model adds the 384 x 384 pooler to the body and head.",
          "cls_total_params == frozen_params + 384 * 384 + 384 + trainable"),
        # Measured at ci scale: mean-pooled 82.9 % (validation 84.2 %), [CLS] pooler 64.6 % (72.5 %).
        # The readout decides how much of the frozen encoder's knowledge a linear head can use.
        # the mean-pooled frozen features should separate most of the sentiment
        C("mean_pooled_accuracy", "Read through the mean-pooled vector, the frozen body reaches at least 78 %.",
          "accuracy >= 0.78"),
        # the [CLS] pooler readout is weaker, well above chance
        C("cls_weaker", "Read through the [CLS] pooler it is weaker, yet well above chance.",
          "0.55 <= cls_accuracy < 0.75"),
        C("readout_gap", "The [CLS] readout is at least 12 points behind.",
          "readout_gap_points >= 12"),  # measured 18.3 points
        C("readout_gap_validation", "On the validation split too, the mean-pooled readout leads by over 5 points.",
          "validation_accuracy > cls_validation_accuracy + 0.05"),  # 84.2 vs 72.5 %
        # The label sentences: zero-shot well above chance (measured 61.3 %).
        C("label_sentences_zero_shot", "With no labels, the head started from label sentences gets at least 50 %.",
          "zero_shot_accuracy >= 0.50"),
        # measured (ci, one CPU): 82.1 % from label sentences, 82.9 % from a random start (0.8 points);
        # three points is about seven test messages of room for another CPU
        C("start_hardly_matters_at_all", "With all labels, the head's start hardly matters any more.",
          "abs(named_accuracy - accuracy) <= 0.03"),
    ],
    "llm_alignment/token_shift_probe": [
        # the tuned model's own greedy tokens rank 1 under itself
        C("greedy_self_consistent", "The tuned model's own greedy tokens rank first under itself.",
          "greedy_check > 0.98"),
        # as in URIAL: most tokens are unshifted, a minority shifted
        C("mostly_unshifted", "Most answer tokens are the untuned model's own first choice.",
          "unshifted_share > 0.6"),
        C("shifted_minority", "A minority of the tokens are shifted.", "0.02 < shifted_share < 0.3"),
        # and the shifts crowd the start of the answer more than tokens in general do
        C("shifts_early", "Shifted tokens crowd the start of the answer more than tokens in general.",
          "shifted_early_share > early_token_share"),
    ],
    "llm_alignment/dpo_concise": [
        # the written-out loss starts at log 2 (policy = reference) and falls
        C("loss_starts_log2", "The loss starts at log 2.", "abs(loss_first - 0.6931) < 0.01"),
        C("loss_falls", "The loss falls below 0.5.", "loss_last < 0.5"),
        # held-out pairs, with filler phrases never trained on: the margin rises and ranks them right
        C("margin_rises", "The held-out margin rises above 3 nats.", "margin_end > 3"),
        C("ranks_heldout", "At least 80 % of the held-out pairs are ranked the right way.", "accuracy_end >= 0.8"),
        # while the policy stays close to the reference (nats per response token)
        C("stays_near_reference", "The KL divergence from the reference stays below 0.5 nats per token.",
          "kl_end < 0.5"),
        # trl's DPOTrainer on the same data and settings gets to the same place
        C("trl_loss_starts_log2", "trl's loss starts at log 2 too.", "abs(trl_loss_first - 0.6931) < 0.01"),
        C("trl_ranks_heldout", "trl ranks at least 80 % of the held-out pairs right.", "trl_accuracy_end >= 0.8"),
        # measured (12 steps): margin 75.85 vs 74.70 (1.5 %), final loss 0.001 vs 0.001
        C("trl_same_margin", "trl's held-out margin is within 10 % of ours.",
          "abs(trl_margin_end - margin_end) < 0.1 * margin_end"),
        C("trl_same_loss", "trl's final training loss is within 0.01 of ours (both near zero).",
          "abs(trl_loss_last - loss_last) < 0.01"),
        C("trl_near_reference", "trl's policy stays within 0.5 nats per token of the reference.",
          "trl_kl_end < 0.5"),
        # the page's caveat: the margin grows mostly by pushing the rejected texts down, and a few
        # steps on fixed pairs barely change how long the greedy answers are
        C("margin_from_rejected", "Most of the margin comes from pushing the rejected texts down.",
          "-rejected_end > 2 * abs(chosen_end)"),
        # Trained for 12 steps (3 epochs) the greedy answers get longer, not more concise: measured
        # 53.7 -> 75.4 tokens, 4 of 10 cut at the 128-token cap after (so 75.4 is a lower bound:
        # cutting can only shorten), 1 of 10 before. Off-policy DPO pushed the rejected texts down
        # (-75.5) while the chosen barely rose (+0.3): the mass went elsewhere.
        C("answers_longer_not_concise", "After DPO towards concise answers, the greedy answers are longer, not shorter.",
          "length_after > 1.1 * length_before"),
        C("before_lengths_measured", "Before DPO at most one answer in ten is cut at the generation cap.",
          "capped_before <= 0.1 * n_heldout"),
    ],
    "llm_alignment/reward_model_length_bias": [
        # The data's bias: in the shipped set the chosen answer is the shorter one in 40 of 40 pairs,
        # so "the shorter wins" ranks every held-out pair right (measured 100 %, 100 %).
        C("chosen_always_shorter", "In this set the chosen answer is the shorter one in every pair.",
          "chosen_shorter_share == 1"),
        C("length_ranks_all", "Length alone ranks every held-out pair right.", "length_accuracy == 1"),
        # Before training: random heads on the frozen body average chance (measured 47 %, 500 heads),
        # but many rank (almost) all pairs the same way (measured 32 %; 2 % if the ten pairs were
        # unrelated): the pairs differ along one shared direction of the features.
        C("random_heads_chance", "Random heads rank the held-out pairs right at about chance on average.",
          "0.35 <= random_accuracy_mean <= 0.65"),
        C("random_heads_decisive", "More than one random head in ten ranks at least nine of ten held-out pairs "
          "the same way.", "random_decisive_share > 0.1"),
        # Trained (LoRA + head, 8 steps): measured loss 1.10 -> 0.007, held-out 100 %, margin 5.3;
        # trl 100 %, margin 5.5; the linear head on the frozen body 100 %.
        C("loss_falls", "The Bradley-Terry loss falls below 0.2.", "loss_last < 0.2"),
        C("ranks_heldout", "The trained reward model ranks at least 90 % of the held-out pairs right.",
          "ours_accuracy >= 0.9 and ours_margin > 1"),
        C("trl_ranks_heldout", "trl's RewardTrainer does too.", "trl_accuracy >= 0.9 and trl_margin > 1"),
        C("head_ranks_heldout", "So does a linear head on the frozen body.", "head_accuracy >= 0.9"),
        # The caveat: on the probe (the rambling answer to the question vs a concise answer to
        # another question) the trained rewards pick the off-topic one (measured 100 %, 100 %, 100 %),
        # and the reward tracks length (correlation measured -0.98, -0.98, -0.95).
        C("prefers_short_off_topic", "The trained reward models prefer a concise answer to another question over "
          "the rambling answer to the question asked in at least 80 % of the probe pairs.",
          "min(ours_off_topic_wins, trl_off_topic_wins, head_off_topic_wins) >= 0.8"),
        C("reward_tracks_length", "Their reward correlates with response length below -0.8.",
          "max(ours_length_corr, trl_length_corr, head_length_corr) < -0.8"),
        # The control, both answers concise: the frozen features tell the answer to the question from
        # another question's (head measured 90 % on seeds 0 and 1 and the default CPU path; length
        # alone 30 %), so relevance is there to be read; on the probe it lost to length.
        C("features_know_relevance", "Between two concise answers, the linear head prefers the one to the question "
          "asked in at least 70 % of the held-out prompts, more than length alone does.",
          "head_on_topic_wins >= 0.7 and head_on_topic_wins > length_on_topic_wins"),
    ],
    "necessity_of_fine_tuning/frozen_vs_finetuned": [
        # Without any labelled data the untuned model is well short of what the task needs.
        C("zero_shot_short", "Zero-shot is more than 10 points below the class centroids.",
          "zero_shot_accuracy < centroid_accuracy - 0.10"),
        # Fine-tuning on the same 480 examples is clearly better than the best frozen baseline
        # (240 test items: a 5-point gap is about 12 items, beyond split noise of ~3 points).
        C("beats_centroid", "Fine-tuning beats the class centroids by more than 5 points.",
          "finetuned_accuracy > centroid_accuracy + 0.05"),
        C("finetuned_above_80", "Fine-tuning reaches more than 80 %.", "finetuned_accuracy > 0.80"),
        C("hard_no_worse", "On the hard cases fine-tuning does at least as well as the centroids.",
          "finetuned_hard_accuracy >= centroid_hard_accuracy"),
        # measured: 11.9 points (centroids) and 13.0 (fine-tuned) below each method's overall accuracy;
        # the band keeps a margin of about three hard cases for another CPU
        C("hard_cases_harder", "The hard cases are harder than the rest for the centroids and the fine-tuned model alike.",
          "min(centroid_accuracy - centroid_hard_accuracy, finetuned_accuracy - finetuned_hard_accuracy) >= 0.05"),
    ],
    "scope_of_introductory_fine_tuning/what_gets_trained": [
        C("full_size", "Full fine-tuning updates more than 22 million parameters.", "full_trainable > 22_000_000"),
        C("head_size", "The head alone is one 384 x 3 linear layer.", "head_trainable == 384 * 3 + 3"),
        # LoRA trains exactly r * (d_in + d_out) per adapted matrix (plus the head): W + BA.
        C("lora_matches_formula", "LoRA trains exactly r(d_in + d_out) per adapted matrix plus the head.",
          "lora_trainable == lora_formula"),
        C("lora_under_1pc", "LoRA trains less than 1 % of the model.", "lora_share < 0.01"),
        # A frozen encoder skips the backward pass through 6 layers: the step is cheaper.
        C("head_step_faster", "With the encoder frozen the step is more than 1.2 times faster.",
          "head_speedup > 1.2"),
    ],
    "selecting_adaptation_strategy/compare_strategies": [
        # issue 4 target: >= 85 % with <= 500 labels
        C("best_85", "With all 480 labels the best approach reaches at least 85 %.", "best_accuracy >= 0.85"),
        # Issue 4's target "frozen within 10 points of full fine-tuning": the linear head on the frozen
        # body's mean-pooled token vectors (how this sentence encoder was pre-trained to be read)
        # measured 8.7 points at ci scale (82.9 % vs 91.7 %). The [CLS] pooler readout of the same
        # frozen body is 27.1 points behind; its page shows both.
        C("frozen_within_10", "The frozen encoder with a linear head is within 10 points of full fine-tuning.",
          "0 < frozen_vs_full_points <= 10"),
        C("frozen_tiny_share", "It trains less than 0.1 % of the parameters full fine-tuning trains.",
          "frozen_param_share < 0.001"),
        # Issue 4: the pre-trained encoder beats the random-init control by >= 20 points at every label count.
        C("gap_min_is_min", "The smallest gap reported is the smallest of the four.",
          "pretraining_gap_min_points == min(gap_at_8, gap_at_32, gap_at_128, gap_at_480)"),
        C("gap_20_everywhere", "Pre-training leads the random-init control by at least 20 points at every label count.",
          "min(gap_at_8, gap_at_32, gap_at_128, gap_at_480) >= 20"),
        # The page: at 8 labels the margin comes from the head started from label sentences.
        C("named_best_at_8", "At 8 labels the best pre-trained approach is the head started from label sentences.",
          'best_at_8 == "named"'),
        # measured 17 and 20 points without the label sentences, against 24 and 26 with them (seeds 0, 1)
        C("label_sentences_add_at_8", "The label sentences add at least 3 points to the lead at 8 labels.",
          "gap_at_8 - gap_without_label_sentences_at_8 >= 3"),
        # The decision prose, rule by rule, from this one table (every encoder read through the mean):
        # a handful of labels -> label sentences; a few dozen to a hundred -> full fine-tuning a few
        # points ahead of the label-sentence head; several hundred -> fine-tune the body. Prompting
        # costs far more per message.
        C("named_zero_shot_50", "With no labels the head started from label sentences gets at least 50 %.",
          "named_zero_shot_accuracy >= 0.50"),  # well above chance (33 %) with no labels
        C("named_beats_prompting", "With no labels it beats calibrated zero-shot prompting of SmolLM2.",
          "named_zero_shot_accuracy > zero_shot_calibrated_accuracy"),  # and above prompting SmolLM2
        # measured 64.3 % against 57.9 % (full fine-tuning), 51.5 % (LoRA), 47.8 % (random-start head);
        # seed 1: 64.3 against 58.1
        C("named_leads_at_8", "At 8 labels the head started from label sentences leads every other by over 3 points.",
          "named_at_8 > max(frozen_at_8, full_at_8, lora_at_8) + 0.03"),
        # at 32 and 128 labels full fine-tuning is ahead on average, by a few points (measured 2.3
        # and 3.6 points over the label-sentence head; seed 1: 5.4 and 4.7)
        C("full_ahead_32_128", "At 32 and at 128 labels full fine-tuning is ahead of every frozen head on average.",
          "full_at_32 > max(named_at_32, frozen_at_32) and full_at_128 > max(named_at_128, frozen_at_128)"),
        C("named_close_32_128", "There the head started from label sentences stays within 7 points of it.",
          "full_at_32 - named_at_32 <= 0.07 and full_at_128 - named_at_128 <= 0.07"),
        # measured 71.2 % (seed 1: 77.1 %) against 79.3 % for the label-sentence head
        C("lora_behind_frozen_at_128", "At 128 labels LoRA is behind the best frozen head.",
          "lora_at_128 < max(named_at_128, frozen_at_128)"),
        C("full_leads_at_480", "With all 480 labels full fine-tuning leads the frozen head by over 3 points.",
          "full_at_480 > frozen_at_480 + 0.03"),
        # LoRA (its own tuned rate, the same readout) trails full fine-tuning below all labels and
        # closes up with all of them (measured 6.4, 18.4 and 11.7 points behind, then 2.5; seed 1:
        # 5.8, 20.6, 6.9, then 1.3 ahead)
        C("lora_trails_full_below_all", "Below all labels LoRA trails full fine-tuning.",
          "lora_at_8 < full_at_8 and lora_at_32 < full_at_32 and lora_at_128 < full_at_128"),
        C("lora_near_full_at_480", "With all labels LoRA ends within 5 points of full fine-tuning.",
          "full_at_480 - lora_at_480 <= 0.05"),
        C("lora_leads_frozen_at_480", "With all labels LoRA overtakes the frozen head.",
          "lora_at_480 > frozen_at_480"),
        # "LoRA's curve rises steeply from 128 to 480 labels" (measured +18.0 points)
        C("steep_rise", "LoRA gains at least 10 points from 128 to 480 labels.",
          "lora_at_480 - lora_at_128 >= 0.10"),
        # One recipe, one number: the head page, the gentle run and the necessity page's fine-tuned
        # arm are the same run (same code path, same seed), so they agree to float32 rounding.
        C("one_number", "The three pages that report full fine-tuning with all 480 labels report the same run.",
          "full_reported_spread < 1e-6"),
        C("full_beats_prompting", "Full fine-tuning beats calibrated prompting, zero- and few-shot.",
          "full_accuracy > max(zero_shot_calibrated_accuracy, few_shot_calibrated_accuracy)"),
        # measured 59.6 % (calibrated few-shot) against 82.1 % for the weakest encoder arm at 480
        C("prompting_below_every_encoder", "Prompting, calibrated or not, is below every encoder trained on the 480 labels.",
          "max(zero_shot_accuracy, few_shot_accuracy, zero_shot_calibrated_accuracy, few_shot_calibrated_accuracy)"
          " < encoder_accuracy_min"),
        # measured 586 MB against 909 MB above the runtime: no gradients or AdamW moments for the frozen weights
        C("lora_less_memory", "LoRA's training run adds less memory than full fine-tuning's.",
          "lora_peak_mb < full_peak_mb"),
        # The cost the prose states as a comparison: prompting is many times slower per message.
        C("prompting_slower", "Prompting is more than five times slower per message than the encoder.",
          "prompting_infer_per_100 > 5 * encoder_infer_per_100"),
        # Absolute wall times (the encoders train in about 15-20 s and classify 100 messages in
        # 0.2-1.3 s here, depending on the CPU code path) are stated on the page as this build's
        # measurements, not claimed: another machine is slower or faster.
    ],
    "transfer_knowledge_to_downstream_tasks/random_init_control": [
        # measured (ci, one CPU, mean-pooled readout, lr 3e-4): 40.6 % and 37.1 % with 8 and 32
        # labels (chance 33 %), 55.2 % with 128, 67.1 % with 480
        C("control_near_chance_below_128", "With 8 and 32 labels the control's mean accuracy stays within 10 "
          "points of chance.", "max(mean_at_8, mean_at_32) <= chance + 0.10"),
        C("control_weak_with_all", "With all labels it stays below 75 %.", "accuracy <= 0.75"),
    ],
    "prompting_language_models/smollm2_zero_few_shot": [
        # measured (ci, one CPU): few-shot raw predicts one label for 92.5 % of messages; calibration
        # lifts few-shot from 40.0 % to 59.6 %; the best of the four is 59.6 %
        C("few_shot_leans", "With examples in the prompt the raw scores lean hard towards one label.",
          "few_shot_top_label_share >= 0.75"),
        C("calibration_lifts_few_shot", "Calibration lifts few-shot accuracy by at least 10 points.",
          "few_shot_calibrated_accuracy - few_shot_accuracy >= 0.10"),
        C("calibrated_few_shot_above_chance", "Calibrated few-shot is well above chance (33 %).",
          "few_shot_calibrated_accuracy >= 0.45"),
        C("small_model_loose", "Prompted, the 135M model stays well below the fine-tuned encoders (under 75 %).",
          "max(zero_shot_accuracy, few_shot_accuracy, zero_shot_calibrated_accuracy, "
          "few_shot_calibrated_accuracy) <= 0.75"),
    ],
    "textual_instructions_task_adaptation/instruction_generalisation": [
        # the seen tasks are learned
        C("seen_learned", "Exact match on the trained tasks rises by more than 30 points.",
          "seen_exact_after > seen_exact_before + 0.3"),
        # and exact-format answers rise on tasks never trained on
        C("unseen_exact_rises", "On the held-out tasks exact match rises by more than 15 points.",
          "unseen_exact_after > unseen_exact_before + 0.15"),
        # measured (ci, one CPU): lenient 0.458 before and after on the held-out tasks (exact 0.000
        # before), one of the four held-out tasks worse; margins of one answer (0.05) and about
        # five answers (0.25) leave room for another CPU's greedy decoding
        C("lenient_does_not_rise", "Summed over the held-out tasks the lenient score rises by at most five "
          "points.", "unseen_lenient_after <= unseen_lenient_before + 0.05"),
        C("right_output_wrapped", "Before tuning many held-out answers already held the right output, "
          "wrapped in sentences.", "unseen_lenient_before - unseen_exact_before >= 0.25"),
        C("transfer_not_free", "At least one held-out task loses lenient score after tuning.",
          "unseen_tasks_worse >= 1"),
    ],
}
