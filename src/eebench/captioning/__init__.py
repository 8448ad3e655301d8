"""What is genuinely different about captioning: an encoder–decoder captioner with an exit after every decoder
layer, and the generated token as the unit of an exit decision.

The caption tasks (`eebench.tasks.captions`), captioners (`eebench.models.backbones.captioners`) and strategies
(`joint-kl`, `heads-only`) are ordinary catalogue components, and a caption run goes through the one pipeline:
the same rules, exits contract, policy cells, checks, latency and report. The stages hand a caption run to this
package where it differs: `data` (the prepared format: jsonl records + images; `shapes`, `coco`), `text`
(tokenizers), `model` (VisionEncoderDecoderModel + exit heads), `train` (joint-kl, CapEEN's heads-only),
`decode` (greedy decoding layer by layer: every exit recorded, and real token-level early exit with copied-up
keys/values), `inference` (token exits, per-token costs, timed real early exit) and `scoring` (pycocoevalcap;
`CaptionMetric`, the CIDEr-D that policies are fitted and evaluated by)."""
