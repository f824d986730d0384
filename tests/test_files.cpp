// Crash-safe file replacement: a failed save leaves the old file as it was
// and no temporary behind; permissions and symbolic links survive a save.
#include "core/error.h"
#include "core/io/atomic_file.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

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
};

QTEST_APPLESS_MAIN(TestFiles)
#include "test_files.moc"
