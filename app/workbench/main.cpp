// jiio-workbench: the desktop front end.
#include "main_window.h"

#include "core/model_locator.h"
#include "core/threads.h"
#include "widgets/mask_layer.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName("jiio");
    QApplication::setApplicationName("jiio-workbench");
    QApplication::setApplicationVersion(JIIO_VERSION);

    QCommandLineParser parser;
    parser.setApplicationDescription("Joint inference and input optimisation for deep equilibrium models.");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({"model", "Restoration model to use (default: the shipped one).", "file"});
    parser.addOption({"mask", "Inpainting mask for the image (non-zero = missing).", "file"});
    parser.addOption({"task", "inpaint (default) or denoise.", "task"});
    parser.addOption({"sigma", "Denoising noise level on the 0-255 scale.", "S"});
    parser.addOption({"run", "Start solving right away."});
    parser.addPositionalArgument("image", "Image to open at start.", "[image]");
    parser.process(app);

    jiio::configureThreads(0);
    jiio::workbench::MainWindow window(parser.value("model"));
    window.resize(1280, 860);
    window.showMaximized();
    if (!parser.positionalArguments().isEmpty() && window.openImage(parser.positionalArguments().front())) {
        if (parser.isSet("task"))
            window.setTask(parser.value("task"));
        if (parser.isSet("sigma"))
            window.setSigma(parser.value("sigma").toDouble());
        if (parser.isSet("mask")) {
            if (const QString error = window.maskLayer()->load(parser.value("mask")); !error.isEmpty())
                qWarning("%s", qPrintable(error));
        }
        if (parser.isSet("run"))
            window.run();
    }
    return app.exec();
}
