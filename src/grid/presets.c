/* The seeds' published training recipes as named presets. A config selects one with
 * "preset": NAME; its values are defaults that the config's own keys (and grid values)
 * override, and they enter the resolved config, so they are part of every cell id.
 *
 * Each recipe is what the seed's code ran (SEED-REPOS.md §1.3, §2, §3.1; notebook 001), as far
 * as the harness's config keys express it; the description says what could not be. The MNIST
 * presets also name their model, so one grid axis over "preset" runs every model with its own
 * recipe. Presets never choose a dataset: that stays with the config. */
#include <stddef.h>
#include <string.h>

#include "snnbench/config.h"

#define MNIST_TRIPLE(model)                                                                     \
  "{\"model\":\"" model "\",\"timesteps\":4,"                                                   \
  "\"train\":{\"epochs\":15,\"batch_size\":128,\"optimizer\":\"adamw\",\"lr\":1e-3,"             \
  "\"weight_decay\":1e-4,\"schedule\":\"cosine\",\"cosine_epochs\":0,\"eta_min\":0,"             \
  "\"grad_clip\":1.0,\"label_smoothing\":0}}"

#define MNIST_TRIPLE_DESC                                                                       \
  "run_triple_comparison.py: T=4, 15 epochs, batch 128, AdamW lr 1e-3 wd 1e-4, "                \
  "CosineAnnealingLR(15), grad clip 1.0, plain cross-entropy, no augmentation"

static const sb_preset k_presets[] = {
    {"baseline_lif", "model baseline_lif; " MNIST_TRIPLE_DESC, MNIST_TRIPLE("baseline_lif")},
    {"dasnn", "model dasnn; " MNIST_TRIPLE_DESC, MNIST_TRIPLE("dasnn")},
    {"spiking_kan", "model spiking_kan; " MNIST_TRIPLE_DESC, MNIST_TRIPLE("spiking_kan")},
    {"nexus",
     "model nexus; run_nexus_v2.py: T=6, 25 epochs, batch 128, AdamW lr 8e-4 wd 1e-4, "
     "CosineAnnealingLR(25, eta_min 1e-5), label smoothing 0.1, grad clip 1.0, "
     "RandomAffine(10 deg, translate 0.1, scale 0.9-1.1)",
     "{\"model\":\"nexus\",\"timesteps\":6,"
     "\"train\":{\"epochs\":25,\"batch_size\":128,\"optimizer\":\"adamw\",\"lr\":8e-4,"
     "\"weight_decay\":1e-4,\"schedule\":\"cosine\",\"cosine_epochs\":0,\"eta_min\":1e-5,"
     "\"grad_clip\":1.0,\"label_smoothing\":0.1},"
     "\"data\":{\"augment\":{\"affine\":{\"degrees\":10,\"translate\":0.1,\"scale_min\":0.9,"
     "\"scale_max\":1.1}}}}"},
    {"apex",
     "model apex; run_apex_snn.py: T=2, 35 epochs, batch 128, AdamW lr 1e-3 wd 1e-4, "
     "CosineAnnealingWarmRestarts(T_0 10, T_mult 2), label smoothing 0.1, grad clip 1.0, "
     "mixup alpha 0.2 on half the batches, RandomAffine(15 deg, 0.1, 0.9-1.1), "
     "RandomErasing(p 0.1); its sparsity loss had no gradient and is left out",
     "{\"model\":\"apex\",\"timesteps\":2,"
     "\"train\":{\"epochs\":35,\"batch_size\":128,\"optimizer\":\"adamw\",\"lr\":1e-3,"
     "\"weight_decay\":1e-4,\"schedule\":\"cosine_restarts\",\"restart_period\":10,"
     "\"restart_mult\":2,\"eta_min\":0,\"grad_clip\":1.0,\"label_smoothing\":0.1},"
     "\"data\":{\"mixup\":{\"alpha\":0.2,\"prob\":0.5},\"augment\":{\"erase\":0.1,"
     "\"affine\":{\"degrees\":15,\"translate\":0.1,\"scale_min\":0.9,\"scale_max\":1.1}}}}"},
    {"cifar_conv",
     "no model (every *_conv model and ann_conv); notebook 001: T=4, 50 epochs, batch 128, "
     "Adam lr 1e-3, CosineAnnealingLR(50), grad clip 1.0 (the notebook's ANN loop did not clip), "
     "RandomCrop(32, padding 4), horizontal flip 0.5",
     "{\"timesteps\":4,"
     "\"train\":{\"epochs\":50,\"batch_size\":128,\"optimizer\":\"adam\",\"lr\":1e-3,"
     "\"weight_decay\":0,\"schedule\":\"cosine\",\"cosine_epochs\":0,\"eta_min\":0,"
     "\"grad_clip\":1.0,\"label_smoothing\":0},"
     "\"data\":{\"augment\":{\"crop_padding\":4,\"hflip\":0.5}}}"},
    {"spiking_cnn",
     "model spiking_cnn; Quantized_SNN train/train_snn.py: T=10, 10 epochs, batch 64, Adam lr "
     "1e-3, constant rate, no clipping, plain cross-entropy, no augmentation",
     "{\"model\":\"spiking_cnn\",\"timesteps\":10,"
     "\"train\":{\"epochs\":10,\"batch_size\":64,\"optimizer\":\"adam\",\"lr\":1e-3,"
     "\"weight_decay\":0,\"schedule\":\"constant\",\"grad_clip\":0,\"label_smoothing\":0}}"},
    {"sdt",
     "model sdt; conf/cifar10/2_256_300E_t4.yml: T=4, 310 epochs (300 + 10 cooldown), batch 64 "
     "(eval 64), AdamW lr 3e-4 wd 0.06, warmup 20 epochs from 1e-6 then cosine to 1e-5 over "
     "300 epochs, label smoothing 0.1, mixup alpha 0.5 on every batch, horizontal flip 0.5, no "
     "clipping; not expressible here: RandAugment rand-m9-n1-mstd0.4-inc1, colour jitter 0.5 "
     "(which timm skips when RandAugment is on), mixup off at epoch 200",
     "{\"model\":\"sdt\",\"timesteps\":4,"
     "\"train\":{\"epochs\":310,\"batch_size\":64,\"optimizer\":\"adamw\",\"lr\":3e-4,"
     "\"weight_decay\":0.06,\"schedule\":\"warmup_cosine\",\"warmup_epochs\":20,"
     "\"warmup_lr\":1e-6,\"cosine_epochs\":300,\"eta_min\":1e-5,\"grad_clip\":0,"
     "\"label_smoothing\":0.1},"
     "\"eval\":{\"batch_size\":64},"
     "\"data\":{\"mixup\":{\"alpha\":0.5,\"prob\":1.0},\"augment\":{\"hflip\":0.5}}}"},
    {NULL, NULL, NULL}};

const sb_preset *sb_preset_find(const char *name) {
  for (const sb_preset *p = k_presets; p->name; p++)
    if (!strcmp(p->name, name)) return p;
  return NULL;
}

const sb_preset *sb_presets(void) { return k_presets; }
