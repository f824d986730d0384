#include "tasks/restoration/restore.h"

#include "error.h"
#include "io/tensor_image.h"
#include "tasks/restoration/known_pixels.h"
#include "tasks/restoration/restoration_layout.h"
#include "tasks/restoration/tiling.h"

#include <opencv2/imgproc.hpp>

namespace F = torch::nn::functional;

namespace jiio {

namespace {

int64_t roundUp(int64_t value, int64_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

// Pads to height x width with the image at (top, left), by replication;
// padded pixels get weight 0 in the objective.
torch::Tensor padTo(const torch::Tensor& image, int64_t height, int64_t width, int64_t top, int64_t left)
{
    const int64_t padH = height - image.size(2);
    const int64_t padW = width - image.size(3);
    if (padH == 0 && padW == 0)
        return image;
    return F::pad(image, F::PadFuncOptions({left, padW - left, top, padH - top}).mode(torch::kReplicate));
}

// Forwards everything to the caller's observer and, when previews are wanted,
// hands the solver's current readout and input to the sink at most once per
// interval.
class PreviewingObserver final : public SolveObserver {
public:
    using Sink = std::function<void(const torch::Tensor& prediction, const torch::Tensor& input)>;
    PreviewingObserver(SolveObserver& inner, Sink sink, double interval)
        : inner_(inner), sink_(std::move(sink)), interval_(interval)
    {
    }
    void onIteration(const IterationStats& stats) override { inner_.onIteration(stats); }
    bool stopRequested() const override { return inner_.stopRequested(); }
    void onSegment(int index, int count) override { inner_.onSegment(index, count); }
    bool wantsInput() const override { return inner_.wantsInput() || sink_; }
    void onInput(const at::Tensor& input) override
    {
        if (inner_.wantsInput())
            inner_.onInput(input);
        input_ = input; // the same iteration's readout follows
    }
    bool wantsPrediction() const override { return inner_.wantsPrediction() || previewDue(); }
    void onPrediction(const at::Tensor& prediction) override
    {
        if (inner_.wantsPrediction())
            inner_.onPrediction(prediction);
        if (previewDue()) {
            last_ = std::chrono::steady_clock::now();
            sink_(prediction, input_);
        }
    }

private:
    bool previewDue() const
    {
        return sink_ && std::chrono::duration<double>(std::chrono::steady_clock::now() - last_).count() >= interval_;
    }
    SolveObserver& inner_;
    Sink sink_;
    double interval_;
    std::chrono::steady_clock::time_point last_{};
    torch::Tensor input_;
};

int severity(StopReason reason)
{
    switch (reason) {
    case StopReason::Converged:
        return 0;
    case StopReason::BudgetExhausted:
        return 1;
    case StopReason::StopRequested:
        return 2;
    case StopReason::Diverged:
        return 3;
    }
    return 3;
}

} // namespace

void validateRestore(const ModelConfig& config, const ImageData& observed, const RestoreRequest& request)
{
    if (config.kind == ModelKind::Classifier)
        throw Error("this model is a classifier: it attacks and classifies images (jiio attack), it does not restore them");
    if (config.kind == ModelKind::FewShot)
        throw Error("this model is a few-shot classifier: it adapts to episodes (jiio eval --task meta), it does not restore images");
    const bool generative = config.kind == ModelKind::Generative;
    if (generative && (observed.width() > config.imageSize || observed.height() > config.imageSize))
        throw Error("the model generates " + std::to_string(config.imageSize) + "x" + std::to_string(config.imageSize)
                    + " images but the image is " + std::to_string(observed.width()) + "x"
                    + std::to_string(observed.height()));
    // An RGB model also serves gray images (as three equal channels).
    const bool grayThroughRgb = config.imageChannels == 3 && observed.colorChannels() == 1;
    if (config.imageChannels != observed.colorChannels() && !grayThroughRgb)
        throw Error("the model expects " + std::to_string(config.imageChannels) + "-channel images but the image has "
                    + std::to_string(observed.colorChannels()) + " colour channel(s)");
    if (observed.color.empty())
        throw Error("the image is empty");
    switch (request.task) {
    case Task::Inpaint:
        if (request.missingMask.empty())
            throw Error("inpainting needs a mask");
        if (request.missingMask.size() != observed.color.size())
            throw Error("the mask is " + std::to_string(request.missingMask.cols) + "x"
                        + std::to_string(request.missingMask.rows) + " but the image is "
                        + std::to_string(observed.width()) + "x" + std::to_string(observed.height()));
        if (cv::countNonZero(request.missingMask) == 0)
            throw Error("the mask marks no missing pixels (non-zero mask pixels are the ones to fill)");
        break;
    case Task::Denoise:
        if (!(request.sigma > 0 && request.sigma <= 255))
            throw Error("the noise level sigma must be in (0, 255]");
        break;
    case Task::Reconstruct:
        if (!generative)
            throw Error("latent reconstruction needs a generative model");
        break;
    }
    if (request.tileBatch < 1)
        throw Error("the tile batch must be at least 1");
}

RestoreOutcome restoreImage(DeqModel& model, const ImageData& input, const RestoreRequest& request,
                            SolveObserver& observer)
{
    const ModelConfig& config = model->config();
    validateRestore(config, input, request);
    if (config.imageChannels == 3 && input.colorChannels() == 1) {
        ImageData asRgb = input;
        cv::cvtColor(input.color, asRgb.color, cv::COLOR_GRAY2RGB);
        RestoreRequest grayRequest = request;
        if (request.onPreview)
            grayRequest.onPreview = [&](const cv::Mat& rgb) {
                cv::Mat gray;
                cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
                request.onPreview(gray);
            };
        RestoreOutcome outcome = restoreImage(model, asRgb, grayRequest, observer);
        cv::Mat gray;
        cv::cvtColor(outcome.image.color, gray, cv::COLOR_RGB2GRAY);
        outcome.image.color = gray;
        return outcome;
    }
    const ImageData& observed = input;
    torch::NoGradGuard noGrad;
    const auto device = model->parameters().front().device();

    const int64_t height = observed.height();
    const int64_t width = observed.width();
    torch::Tensor image = imageToTensor(observed.color);
    torch::Tensor known = request.task == Task::Inpaint ? knownMaskToTensor(request.missingMask)
                                                        : torch::ones({1, 1, height, width});
    image = image * known; // values under the mask are ignored

    // A generative model sees the image centred in its fixed frame, as in training.
    const bool generative = config.kind == ModelKind::Generative;
    const bool whole = generative || height * width <= request.maxWholePixels;
    const int64_t align = config.alignment();
    int64_t paddedH = 0, paddedW = 0, tileSize = 0, top = 0, left = 0;
    if (generative) {
        paddedH = paddedW = config.imageSize;
        top = (paddedH - height) / 2;
        left = (paddedW - width) / 2;
    } else if (whole) {
        paddedH = roundUp(height, align);
        paddedW = roundUp(width, align);
    } else {
        tileSize = config.tileSize;
        paddedH = roundUp(std::max(height, tileSize), align);
        paddedW = roundUp(std::max(width, tileSize), align);
    }
    torch::Tensor target = padTo(image, paddedH, paddedW, top, left);
    torch::Tensor weight = torch::zeros({1, 1, paddedH, paddedW});
    weight.narrow(2, top, height).narrow(3, left, width).copy_(known);

    const std::vector<Tile> tiles = whole ? std::vector<Tile>{} : planTiles(paddedH, paddedW, tileSize, config.tileOverlap);
    auto blended = torch::zeros({1, config.imageChannels, paddedH, paddedW});
    auto weightSum = torch::zeros({1, 1, paddedH, paddedW});

    RestoreOutcome outcome;
    const auto start = std::chrono::steady_clock::now();
    double objectiveSum = 0;
    // Previews show known pixels as they are, like the final result.
    auto toPreview = [&](const torch::Tensor& padded) {
        auto view = padded.narrow(2, top, height).narrow(3, left, width).to(torch::kCPU);
        if (request.task == Task::Inpaint)
            view = keepKnownPixels(view, image, known);
        request.onPreview(tensorToImage(view));
    };
    std::unique_ptr<RestorationObjective> objective; // the batch being solved
    PreviewingObserver::Sink sink;
    if (request.onPreview && whole)
        sink = [&](const torch::Tensor& prediction, const torch::Tensor& input) {
            const auto shown = input.defined() ? objective->restoredImage(prediction, input) : prediction;
            toPreview(shown.narrow(0, 0, 1).detach());
        };
    PreviewingObserver watcher(observer, sink, request.previewInterval);

    auto solveBatch = [&](const torch::Tensor& targets, const torch::Tensor& weights) {
        objective =
            RestorationObjective::forModel(config, request.task, targets.to(device), weights.to(device), request.sigma);
        const auto layout = restorationLayout(model, *objective);
        auto result = optimizeInput(model, layout, *objective, request.solver, watcher, restorationStart(model, *objective));
        outcome.iterations += result.iterations;
        objectiveSum += result.objective.defined() ? result.objective.sum().item<double>() : 0.0;
        if (severity(result.reason) > severity(outcome.worstReason))
            outcome.worstReason = result.reason;
        return objective->restoredImage(result.prediction, result.latent).to(torch::kCPU);
    };

    if (whole) {
        observer.onSegment(0, 1);
        blended = solveBatch(target, weight);
        weightSum.fill_(1.0);
        outcome.segments = 1;
    } else {
        const int64_t count = int64_t(tiles.size());
        for (int64_t first = 0; first < count; first += request.tileBatch) {
            if (observer.stopRequested())
                break;
            const int64_t n = std::min<int64_t>(request.tileBatch, count - first);
            std::vector<torch::Tensor> targets, weights;
            for (int64_t i = first; i < first + n; ++i) {
                const Tile& t = tiles[size_t(i)];
                targets.push_back(target.narrow(2, t.top, t.size).narrow(3, t.left, t.size));
                weights.push_back(weight.narrow(2, t.top, t.size).narrow(3, t.left, t.size));
            }
            observer.onSegment(int(first / request.tileBatch), int((count + request.tileBatch - 1) / request.tileBatch));
            auto predictions = solveBatch(torch::cat(targets), torch::cat(weights));
            for (int64_t i = 0; i < n; ++i) {
                const Tile& t = tiles[size_t(first + i)];
                auto window = tileWindow(t, paddedH, paddedW, config.tileOverlap);
                blended.narrow(2, t.top, t.size).narrow(3, t.left, t.size).add_(predictions.narrow(0, i, 1) * window);
                weightSum.narrow(2, t.top, t.size).narrow(3, t.left, t.size).add_(window);
            }
            outcome.segments += int(n);
            if (request.onPreview) { // finished tiles over the observation
                auto covered = weightSum > 0;
                toPreview(torch::where(covered, blended / weightSum.clamp_min(1e-8), target));
            }
        }
        blended = blended / weightSum.clamp_min(1e-8);
    }

    auto restored = blended.narrow(2, top, height).narrow(3, left, width);
    if (request.task == Task::Inpaint)
        restored = keepKnownPixels(restored, image, known);
    outcome.image.color = tensorToImage(restored);
    outcome.image.alpha = observed.alpha.clone();
    outcome.image.depth = observed.depth;
    outcome.objective = outcome.segments > 0 ? objectiveSum / outcome.segments : 0.0;
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return outcome;
}

} // namespace jiio
