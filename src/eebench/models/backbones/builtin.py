"""The built-in backbones."""

from ..pretrained import MINILM_PACKAGE
from . import IMAGE, integer, pretrained, random_init, small, transformer_size

SMALL_TRANSFORMER = dict(n_layers=4, hidden_size=64, n_heads=2, intermediate_size=128)

small("mlp", "mlp", {"hidden": integer("hidden width", default=128), "n_layers": integer("residual blocks", default=4)},
      "residual MLP for small images (8×8 digits)")
small("cnn", "cnn", {"channels": integer("channels", default=32), "n_layers": integer("conv blocks", default=4)},
      "small CNN for 8×8 or 28×28 images")
small("b-lenet", "lenet", {}, "BranchyNet's B-LeNet (MNIST): LeNet's 3 convs + 2 FC, a branch after conv 1; 2 exits",
      dropout=False)
random_init("bert-tiny", "bert", transformer_size(4, 128, 2, 512), "random-init BERT, H128, MiniLM's tokenizer (fast tests)")
random_init("bert-small", "bert", transformer_size(**SMALL_TRANSFORMER), "random-init small BERT")
random_init("roberta-small", "roberta", transformer_size(**SMALL_TRANSFORMER), "random-init small RoBERTa")
random_init("distilbert-small", "distilbert", transformer_size(**SMALL_TRANSFORMER), "random-init small DistilBERT")
random_init("albert-small", "albert", transformer_size(**SMALL_TRANSFORMER), "random-init small ALBERT (one shared layer)")
random_init(
    "vit-small", "vit", {**transformer_size(**SMALL_TRANSFORMER), "patch_size": integer("patch side", default=4)},
    "random-init small ViT at the data's size", modalities=IMAGE,
)
random_init(
    "vit-tiny", "vit", {**transformer_size(2, 32, 2, 64), "patch_size": integer("patch side", default=8)},
    "random-init tiny ViT at the data's size (fast tests, smoke runs)", modalities=IMAGE,
)
pretrained("minilm-l6", "bert", MINILM_PACKAGE, "all-MiniLM-L6-v2 (6 layers, H384) from its PyPI package")
pretrained("bert-base", "bert", "bert-base-uncased", "BERT-base uncased (12 layers)")
pretrained("roberta-base", "roberta", "roberta-base", "RoBERTa-base (12 layers)")
pretrained("distilbert-base", "distilbert", "distilbert-base-uncased", "DistilBERT-base (6 layers)")
pretrained("albert-base", "albert", "albert-base-v2", "ALBERT-base v2 (12 applications of a shared layer)")
pretrained("vit-base", "vit", "google/vit-base-patch16-224-in21k", "ViT-B/16 (224×224, ImageNet-21k)", modalities=IMAGE)
