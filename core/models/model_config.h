#pragma once
#include <map>
#include <string>

namespace jiio {

// What a model was built for. A restoration model maps a low-resolution latent
// grid to an image of any size; a generative model decodes one latent code per
// fixed-size image (the Fashion-MNIST setting); a classifier reads class
// logits out of the equilibrium of a fixed-size image, whose perturbation is
// the optimised input (adversarial attacks); a few-shot classifier's
// optimised input is a task vector shared by every image of an episode, which
// modulates the cell's injection (meta-learning).
enum class ModelKind { Restoration, Generative, Classifier, FewShot };

// Whether a model of this kind reads class logits out of its equilibrium.
inline bool readsOutClasses(ModelKind kind) { return kind == ModelKind::Classifier || kind == ModelKind::FewShot; }

std::string toString(ModelKind kind);
ModelKind modelKindFromString(const std::string& text);

// Everything needed to rebuild a model from a checkpoint file alone, plus how
// it was made (free-form provenance such as data set and training command).
struct ModelConfig {
    ModelKind kind = ModelKind::Restoration;
    int imageChannels = 3;     // 1 (gray) or 3 (RGB)
    int width = 16;            // hidden channels at full resolution
    int scales = 2;            // resolutions in the cell; scale s has width * 2^s channels
    int latentChannels = 8;    // channels of the optimised input x
    int latentStride = 4;      // pixels per latent cell (Restoration)
    int imageSize = 32;        // fixed side length (Generative only)
    int groups = 4;            // group-norm groups
    bool weightNorm = true;
    int tileSize = 128;        // for images too large to solve whole
    int tileOverlap = 16;
    int jiioIterations = 30;   // the inner budget the model was trained for
    double priorWeight = 1e-3; // R(x) = priorWeight/2 * |x|^2
    // Restoration only: the cell also sees a conditioning image of
    // imageChannels + 2 channels, and the readout adds its correction to the
    // first imageChannels of them. Restoration passes the observation with
    // holes filled, the known-pixel mask and the noise level, so the
    // equilibrium keeps detail the coarse latent cannot carry and x only has
    // to add what is missing. Stored as "observation_injection".
    bool imageConditioning = false;
    // Restoration only: the optimised input x is the image itself (full
    // resolution, latentChannels = imageChannels, latentStride = 1), and the
    // readout is a denoiser of it, h = x + r(z*(x)). The observation then
    // reaches the solution only through the objective (data fidelity on x
    // plus the learned prior |x - h|^2), which JIIO minimises.
    bool imageInput = false;
    // Image-prior models only: the denoiser also sees two maps, the known-pixel
    // mask and the noise level, D(x; mask, sigma). They say where x is the
    // classical fill of a hole and how much noise the data term leaves, and
    // carry nothing of the observation itself, which still enters only
    // through the objective. Stored as "prior_conditioning".
    bool priorConditioning = false;
    int classes = 10; // Classifier: its classes; FewShot: the most ways an episode may have
    // FewShot: the task vector holds, after its latentChannels of cell
    // modulation, one embedding of this size per class slot, and the logits
    // are the slots' embeddings against a learned projection of the pooled
    // equilibrium features (0: a fixed linear head instead).
    int classEmbedding = 0;
    std::map<std::string, std::string> provenance;

    // What a new model starts from: the defaults above, plus image
    // conditioning for restoration models (the field itself defaults to off, so
    // files written before it existed load as they were).
    static ModelConfig newModel(ModelKind kind);
    // A new restoration model whose input is the image (imageInput), for
    // `channels`-channel images: three scales, prior weight 1, 20 iterations.
    static ModelConfig newImagePriorModel(int channels);
    // A new classifier of imageSize x imageSize images with `channels`
    // channels: the optimised input is a perturbation of the image (latent
    // channels = channels, stride 1), pixel values in [0, 1].
    static ModelConfig newClassifierModel(int channels, int imageSize, int classes);
    // A new few-shot classifier of imageSize x imageSize images: the optimised
    // input is a task vector (cell modulation of `taskDimensions`, then a
    // `classEmbedding`-sized embedding per class slot), adapted per episode
    // with the proximal weight priorWeight (lambda); up to `ways` classes.
    // The task vector's size.
    int taskVectorSize() const { return latentChannels + (kind == ModelKind::FewShot ? classes * classEmbedding : 0); }
    static ModelConfig newFewShotModel(int channels, int imageSize, int ways, int taskDimensions,
                                       int classEmbedding = 32);
    // The default group count when it divides `width`, else one group.
    static int groupsFor(int width);
    // Spatial sizes must be multiples of this.
    int alignment() const;
    // Throws jiio::Error when a value is out of range.
    void validate() const;

    std::string toText() const;
    static ModelConfig fromText(const std::string& text);
};

} // namespace jiio
