// jiio-workbench: the desktop front end.
#include "main_window.h"

#include "core/models/model_locator.h"
#include "core/process_setup.h"
#include "core/threads.h"
#include "widgets/mask_layer.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QIcon>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName("jiio");
    QApplication::setApplicationName("jiio-workbench");
    QApplication::setApplicationVersion(JIIO_VERSION);
    QApplication::setWindowIcon(QIcon(":/icons/jiio-workbench.svg"));
    QGuiApplication::setDesktopFileName("jiio-workbench");
    jiio::setUpProcess();

    QCommandLineParser parser;
    parser.setApplicationDescription("Joint inference and input optimisation for deep equilibrium models.");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({"model", "Model to use (default: the shipped one for the image).", "file"});
    parser.addOption({"mask", "Inpainting mask for the image (non-zero = missing).", "file"});
    parser.addOption({"task", "inpaint (default), denoise or reconstruct.", "task"});
    parser.addOption({"sigma", "Denoising noise level on the 0-255 scale.", "S"});
    parser.addOption({"noise", "Add synthetic noise of --sigma to the image (the clean image becomes the ground truth)."});
    parser.addOption({"tab", "Tab to show: restore (default), compare, train, attack or fewshot.", "tab"});
    parser.addOption({"run", "Start right away: solve, compare, train, attack or adapt, by the tab shown."});
    parser.addPositionalArgument("image", "Image to open at start.", "[image]");
    parser.process(app);

    jiio::configureThreads(0);
    jiio::workbench::MainWindow window(parser.value("model"));
    if (window.restoreLayout()) {
        window.show();
    } else {
        window.resize(1280, 860);
        window.showMaximized();
    }
    if (parser.isSet("tab") && !window.showTab(parser.value("tab")))
        qWarning("unknown tab '%s' (expected restore, compare, train, attack or fewshot)", qPrintable(parser.value("tab")));
    const bool opened =
        !parser.positionalArguments().isEmpty() && window.openImage(parser.positionalArguments().front());
    if (opened) {
        if (parser.isSet("sigma"))
            window.setSigma(parser.value("sigma").toDouble());
        if (parser.isSet("noise"))
            window.addSyntheticNoise();
        if (parser.isSet("task"))
            window.setTask(parser.value("task"));
        if (parser.isSet("mask")) {
            if (const QString error = window.maskLayer()->load(parser.value("mask")); !error.isEmpty())
                qWarning("%s", qPrintable(error));
        }
    }
    if (parser.isSet("run") && (opened || parser.value("tab") == "train" || parser.value("tab") == "attack"
                                 || parser.value("tab") == "fewshot"))
        window.runVisibleTab();
    return app.exec();
}
