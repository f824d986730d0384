// Crash-safe file replacement: a failed save leaves the old file as it was
// and no temporary behind; permissions and symbolic links survive a save.
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/image_header.h"
#include "core/io/image_io.h"
#include "core/models/checkpoint.h"
#include "test_support.h"

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

// A JPEG of `image` whose EXIF block (APP1, right after the start-of-image
// marker) sets the orientation tag, as a camera held sideways writes it.
std::vector<unsigned char> jpegWithOrientation(const cv::Mat& image, uint16_t orientation)
{
    std::vector<unsigned char> jpeg;
    cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 100});
    const std::vector<unsigned char> exif = {
        'E', 'x', 'i', 'f', 0, 0,                    // EXIF identifier
        'M', 'M', 0, 42, 0, 0, 0, 8,                 // big-endian TIFF header, IFD at 8
        0, 1,                                        // one entry:
        0x01, 0x12, 0, 3, 0, 0, 0, 1,                // orientation, SHORT, count 1
        uint8_t(orientation >> 8), uint8_t(orientation), 0, 0,
        0, 0, 0, 0};                                 // no next IFD
    const uint16_t length = uint16_t(exif.size() + 2);
    std::vector<unsigned char> out(jpeg.begin(), jpeg.begin() + 2); // FF D8
    out.insert(out.end(), {0xFF, 0xE1, uint8_t(length >> 8), uint8_t(length)});
    out.insert(out.end(), exif.begin(), exif.end());
    out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
    return out;
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
        // Found by fuzzing: a product beyond 64 bits (was signed overflow).
        QByteArray vast("\x89PNG\r\n\x1a\n", 8);
        vast += be32(13) + "IHDR" + be32(2300912933u) + be32(4028966181u) + QByteArray("\x08\x02\0\0\0", 5) + be32(0);
        QTest::newRow("png 2300912933x4028966181") << vast;
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

    // Found by fuzzing: LibTorch parses a checkpoint's records without
    // checking their CRC-32, and a damaged pickle crashed it. Every member is
    // now checked first: damage is a clear error, and no flipped byte crashes.
    void aDamagedCheckpointIsRefusedBeforeItIsParsed()
    {
        QTemporaryDir folder;
        const std::string path = (folder.path() + "/model.pt").toStdString();
        auto model = test::tinyModel(1);
        saveModel(path, model);
        QFile file(QString::fromStdString(path));
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray intact = file.readAll();
        file.close();
        auto loadWith = [&](const QByteArray& bytes) {
            QFile out(QString::fromStdString(path));
            out.open(QIODevice::WriteOnly);
            out.write(bytes);
            out.close();
            try {
                loadModel(path);
                return QString();
            } catch (const Error& e) {
                return QString::fromUtf8(e.what());
            }
        };
        QVERIFY(loadWith(intact).isEmpty());
        // A byte of the pickled records, past the member's local header.
        const int name = intact.indexOf("/data.pkl");
        QVERIFY(name > 30);
        const int local = intact.lastIndexOf("PK\x03\x04", name);
        const int nameLength = uchar(intact[local + 26]) | uchar(intact[local + 27]) << 8;
        const int extraLength = uchar(intact[local + 28]) | uchar(intact[local + 29]) << 8;
        QByteArray damaged = intact;
        damaged[local + 30 + nameLength + extraLength + 5] ^= 0x20;
        const QString message = loadWith(damaged);
        QVERIFY2(message.contains("CRC-32") && message.contains("corrupt"), qPrintable(message));
        int refused = 0;
        for (int at = 0; at < intact.size(); at += 61) { // whatever is flipped, an error or a model
            QByteArray flipped = intact;
            flipped[at] = char(flipped[at] ^ 0x5a);
            refused += loadWith(flipped).isEmpty() ? 0 : 1;
        }
        QVERIFY(refused > intact.size() / 61 / 2);
        // Also found by fuzzing: a stored member relabelled as deflated went
        // unchecked (and crashed LibTorch's parser); deflated members are
        // inflated and checked now, and other compressions refused.
        const int central = intact.indexOf("PK\x01\x02");
        QVERIFY(central > 0);
        for (const char method : {char(8), char(12)}) {
            QByteArray relabelled = intact;
            relabelled[central + 10] = method; // the first central-directory entry
            const QString refusal = loadWith(relabelled);
            QVERIFY2(refusal.contains("damaged") || refusal.contains("no checkpoint"), qPrintable(refusal));
        }
        // And one whose classic end record says "no members" while the ZIP64
        // record LibTorch reads still lists them all: the check saw nothing,
        // LibTorch parsed a damaged record. The two records must agree now.
        QByteArray emptied = intact;
        const int endRecord = intact.lastIndexOf("PK\x05\x06");
        QVERIFY(endRecord > 0);
        emptied[endRecord + 8] = emptied[endRecord + 9] = emptied[endRecord + 10] = emptied[endRecord + 11] = 0;
        QVERIFY(loadWith(emptied).contains("disagree"));
        QVERIFY(loadWith(intact.left(intact.size() / 2)).contains("corrupt"));
    }

    // Found by fuzzing: bytes that OpenCV handed to its DICOM decoder, which
    // aborted the process on an assertion. Only the five documented formats
    // reach a decoder now; anything else is refused by name.
    void onlyTheDocumentedFormatsReachADecoder()
    {
        QTemporaryDir folder;
        auto attempt = [&](const QByteArray& bytes) {
            const QString path = folder.filePath("input.img");
            QFile file(path);
            file.open(QIODevice::WriteOnly);
            file.write(bytes);
            file.close();
            try {
                readMask(path.toStdString());
                return QString();
            } catch (const Error& e) {
                return QString::fromUtf8(e.what());
            }
        };
        QByteArray dicom(128, '\0'); // a DICOM preamble, then its magic
        dicom += "DICM";
        dicom += QByteArray(64, '\x1d');
        QVERIFY(attempt(dicom).contains("not a PNG, JPEG, TIFF, BMP or WebP image"));
        const QByteArray jpeg2000("\0\0\0\x0cjP  \r\n\x87\n", 12);
        QVERIFY(attempt(jpeg2000 + QByteArray(40, '\0')).contains("not a PNG, JPEG, TIFF, BMP or WebP image"));
        QVERIFY(attempt("P5\n2 2\n255\n\1\2\3\4").contains("not a PNG")); // PGM: OpenCV reads it, we do not
        for (const char* extension : {".png", ".jpg", ".tif", ".bmp", ".webp"}) {
            std::vector<unsigned char> bytes;
            QVERIFY(cv::imencode(extension, cv::Mat(4, 5, CV_8UC1, cv::Scalar(255)), bytes));
            QVERIFY2(attempt(QByteArray(reinterpret_cast<const char*>(bytes.data()), int(bytes.size()))).isEmpty(),
                     extension);
        }
    }

    // A photo taken with the camera turned (EXIF orientation 6: rotate 90
    // degrees clockwise to view) is read upright, image and mask alike.
    void photosAreReadUprightByTheirExifOrientation()
    {
        QTemporaryDir folder;
        cv::Mat stored(40, 64, CV_8UC3, cv::Scalar(0, 0, 0));
        stored(cv::Rect(0, 0, 16, 8)).setTo(cv::Scalar(255, 255, 255)); // a bright patch top left, as stored
        const std::string path = (folder.path() + "/turned.jpg").toStdString();
        const auto bytes = jpegWithOrientation(stored, 6);
        QFile file(QString::fromStdString(path));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(reinterpret_cast<const char*>(bytes.data()), qint64(bytes.size()));
        file.close();

        const ImageData image = readImage(path);
        QCOMPARE(image.width(), 40); // upright: the stored 64x40 turned by 90 degrees
        QCOMPARE(image.height(), 64);
        // Turned clockwise, the stored top-left corner is now the top right.
        QVERIFY(image.color.at<cv::Vec3f>(2, 37)[0] > 0.9f);
        QVERIFY(image.color.at<cv::Vec3f>(2, 2)[0] < 0.1f);
        const cv::Mat mask = readMask(path);
        QCOMPARE(mask.cols, 40);
        QCOMPARE(mask.rows, 64);
        // Written back, the pixels are upright and carry no orientation.
        const std::string out = (folder.path() + "/upright.png").toStdString();
        writeImage(out, image);
        QCOMPARE(readImage(out).width(), 40);

        // Orientation 1 (as stored) and a PNG are read as they are.
        const auto plain = jpegWithOrientation(stored, 1);
        QCOMPARE(cv::imdecode(plain, cv::IMREAD_UNCHANGED).cols, 64);
        const std::string plainPath = (folder.path() + "/plain.jpg").toStdString();
        QFile plainFile(QString::fromStdString(plainPath));
        QVERIFY(plainFile.open(QIODevice::WriteOnly));
        plainFile.write(reinterpret_cast<const char*>(plain.data()), qint64(plain.size()));
        plainFile.close();
        QCOMPARE(readImage(plainPath).width(), 64);
    }
};

QTEST_APPLESS_MAIN(TestFiles)
#include "test_files.moc"
