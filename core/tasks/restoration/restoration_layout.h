#pragma once
#include "models/deq_model.h"
#include "tasks/restoration/restoration_objective.h"

namespace jiio {

// What a conditioned model sees of a restoration problem, [B, C + 2, H, W]:
// the observed image with its holes filled by push-pull interpolation, the
// known-pixel mask and the noise level in the model's units.
torch::Tensor observationConditioning(const RestorationObjective& objective);

// What a conditioned image prior sees, [B, 2, H, W]: the known-pixel mask and
// the noise level in the model's units; nothing of the observed values.
torch::Tensor priorConditioning(const RestorationObjective& objective);

// The model's layout for the objective's images, with the observation (or,
// for a conditioned prior, the mask and noise level) as its conditioning when
// the model takes one. Use it wherever a restoration
// objective is at hand: a conditioned model cannot be applied without it.
StateLayout restorationLayout(const DeqModel& model, const RestorationObjective& objective);

// Where the input optimisation starts: for a model whose input is the image,
// the observation with its holes filled by biharmonic inpainting (flat,
// channels-last, as the model holds x); undefined (zero) for latent models.
torch::Tensor restorationStart(const DeqModel& model, const RestorationObjective& objective);

} // namespace jiio
