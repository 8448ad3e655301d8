"""BEEM's captioning track: an encoder–decoder captioner with an exit after every decoder layer.

The unit of an exit decision is a generated token. `decode.record_exits` runs the full model greedily once and
stores every exit's logits per generated token (with its sample id and the full model's token as the label), so
the NumPy policies of `eebench.policies` are fitted and swept on cached outputs (`policy_eval`); `decode.
early_exit_decode` then stops each token's decoder pass at the layer the policy picks (real early exit).

Modules: `shapes` (the offline task), `coco` (Karpathy-split COCO), `data` (the prepared split format),
`text` (tokenizers), `model` (VisionEncoderDecoderModel + exit heads), `train`, `decode`, `scoring`
(pycocoevalcap), `policy_eval`, `stages` / `cli` (`python -m eebench.captioning.cli <stage>`)."""
