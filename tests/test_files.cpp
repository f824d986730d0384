// Crash-safe file replacement: a failed save leaves the old file as it was
// and no temporary behind; permissions and symbolic links survive a save.
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/image_header.h"
#include "core/io/image_io.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/imgcodecs.hpp>

#include <csignal>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace jiio;

namespace {

QByteArray readAll(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// Runs `work` in a child process (which may drop privileges or lower its
// limits without touching the test) and returns what it printed.
QString inChild(const std::function<std::string()>& work)
{
    int pipeEnds[2];
    if (pipe(pipeEnds) != 0)
        return "pipe failed";
    const pid_t child = fork();
    if (child == 0) {
        close(pipeEnds[0]);
        const std::string message = work();
        (void)!write(pipeEnds[1], message.data(), message.size());
        _exit(0);
    }
    close(pipeEnds[1]);
    QByteArray message;
    char buffer[512];
    ssize_t n;
    while ((n = read(pipeEnds[0], buffer, sizeof buffer)) > 0)
        message.append(buffer, int(n));
    close(pipeEnds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    return QString::fromUtf8(message);
}

std::string attempt(const std::string& path, const std::string& bytes)
{
    try {
        writeFileAtomically(path, bytes);
        return "written";
    } catch (const Error& e) {
        return e.what();
    }
}

QStringList entries(const QString& folder)
{
    return QDir(folder).entryList(QDir::Files | QDir::Hidden | QDir::System);
}

} // namespace

class TestFiles : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void replacesKeepingPermissionsAndLinks()
    {
        QTemporaryDir dir;
        const QString target = dir.filePath("model.pt");
        writeFileAtomically(target.toStdString(), "old");
        QVERIFY(chmod(qPrintable(target), 0640) == 0);
        const QString link = dir.filePath("current.pt");
        QVERIFY(symlink("model.pt", qPrintable(link)) == 0);
        writeFileAtomically(link.toStdString(), "new contents");
        QVERIFY(QFileInfo(link).isSymLink());
        QCOMPARE(readAll(target), QByteArray("new contents"));
        struct stat info {};
        QVERIFY(stat(qPrintable(target), &info) == 0);
        QCOMPARE(int(info.st_mode & 07777), 0640);
        QCOMPARE(entries(dir.path()).size(), 2); // no temporary left
    }

    // A folder the writer may not write to: a clear error, the old file intact.
    void aReadOnlyFolderIsAClearError()
    {
        QTemporaryDir dir;
        QVERIFY(chmod(qPrintable(dir.path()), 0755) == 0); // the writer may look in, not write
        const QString folder = dir.filePath("locked");
        QVERIFY(QDir().mkpath(folder));
        const QString target = folder + "/out.png";
        writeFileAtomically(target.toStdString(), "old bytes");
        QVERIFY(chmod(qPrintable(folder), 0555) == 0);
        const QString message = inChild([&] {
            if (geteuid() == 0 && setuid(65534) != 0) // root writes anywhere: test as nobody
                return std::string("cannot drop privileges");
            return attempt(target.toStdString(), "new bytes");
        });
        chmod(qPrintable(folder), 0755);
        QVERIFY2(message.contains("cannot write") && message.contains("permission denied"), qPrintable(message));
        QCOMPARE(readAll(target), QByteArray("old bytes"));
        QCOMPARE(entries(folder), QStringList{"out.png"});
    }

    // A file-size limit hit in the middle of a save.
    void aFileSizeLimitIsAClearError()
    {
        QTemporaryDir dir;
        const QString target = dir.filePath("checkpoint.pt");
        const std::string old(1000, 'a');
        writeFileAtomically(target.toStdString(), old);
        const QString message = inChild([&] {
            std::signal(SIGXFSZ, SIG_IGN);
            const rlimit limit{4096, 4096};
            setrlimit(RLIMIT_FSIZE, &limit);
            return attempt(target.toStdString(), std::string(100000, 'b'));
        });
        QVERIFY2(message.contains("file-size limit"), qPrintable(message));
        QCOMPARE(readAll(target), QByteArray(old.data(), int(old.size())));
        QCOMPARE(entries(dir.path()), QStringList{"checkpoint.pt"});
    }

    void aMissingFolderIsAClearError()
    {
        QTemporaryDir dir;
        const std::string message = attempt(dir.filePath("no/such/folder/x.png").toStdString(), "x");
        QVERIFY2(message.find("the folder does not exist") != std::string::npos, message.c_str());
    }

    // Small files that declare enormous dimensions are refused from their
    // header, before a decoder allocates anything.
    void hostileImageHeadersAreRefusedBeforeDecoding_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        auto be32 = [](quint32 v) {
            const char bytes[] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
            return QByteArray(bytes, 4);
        };
        QByteArray png("\x89PNG\r\n\x1a\n", 8);
        png += be32(13) + "IHDR" + be32(100000) + be32(100000) + QByteArray("\x08\x02\0\0\0", 5) + be32(0);
        png += QByteArray(64, '\0');
        QTest::newRow("png 100000x100000") << png;
        QByteArray jpeg("\xff\xd8", 2);
        jpeg += QByteArray("\xff\xe0\x00\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0", 18); // APP0
        jpeg += QByteArray("\xff\xc0\x00\x11\x08\xea\x60\xea\x60\x03", 10);                // SOF0 60000x60000
        jpeg += QByteArray(9, '\x11') + QByteArray("\xff\xda\x00\x02", 4) + QByteArray("\xff\xd9", 2);
        QTest::newRow("jpeg 60000x60000") << jpeg;
    }
    void hostileImageHeadersAreRefusedBeforeDecoding()
    {
        QFETCH(QByteArray, bytes);
        QTemporaryDir dir;
        const QString path = dir.filePath("huge.img");
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(bytes);
        file.close();
        try {
            jiio::readImage(path.toStdString());
            QFAIL("a huge declared size was accepted");
        } catch (const jiio::Error& e) {
            QVERIFY2(QString(e.what()).contains("64-megapixel limit"), e.what());
        }
        try {
            jiio::readMask(path.toStdString());
            QFAIL("a huge declared mask was accepted");
        } catch (const jiio::Error& e) {
            QVERIFY2(QString(e.what()).contains("megapixel limit"), e.what());
        }
    }

    void headersOfOrdinaryImagesAreReadCorrectly()
    {
        const cv::Mat image(37, 91, CV_8UC3, cv::Scalar(10, 20, 30));
        for (const char* extension : {".png", ".jpg"}) {
            std::vector<unsigned char> bytes;
            QVERIFY(cv::imencode(extension, image, bytes));
            const auto size = jiio::declaredImageSize(bytes);
            QVERIFY2(size.has_value(), extension);
            QCOMPARE(size->width, int64_t(91));
            QCOMPARE(size->height, int64_t(37));
        }
        std::vector<unsigned char> bmp;
        QVERIFY(cv::imencode(".bmp", image, bmp));
        QVERIFY(!jiio::declaredImageSize(bmp)); // not read: the decoded size is checked instead
    }
};

QTEST_APPLESS_MAIN(TestFiles)
#include "test_files.moc"
