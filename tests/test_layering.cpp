// The include rule of docs/ARCHITECTURE.md, checked on the source tree: rooms
// of core/ use only their own and lower rooms, includes inside core/ are
// written from its root, and widgets/ never include core/.
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

namespace {

// Rooms of core/ and their level: a file may include its own room and any
// room of a lower level. Rooms of one level (solvers and models; the tasks;
// training and evaluation) do not use each other.
int levelOf(const QString& room)
{
    static const QHash<QString, int> levels{{"", 0},       {"io", 1},   {"solvers", 2},  {"models", 2},
                                            {"jiio", 3},   {"tasks", 4}, {"training", 5}, {"evaluation", 5}};
    const QString top = room.section('/', 0, 0);
    return levels.value(top, -1);
}

// The room of a path relative to core/: "" for the root, "tasks/<name>" for a task.
QString roomOf(const QString& pathInCore)
{
    const QStringList parts = pathInCore.split('/');
    if (parts.size() == 1)
        return {};
    if (parts.first() == "tasks" && parts.size() > 2)
        return "tasks/" + parts.at(1);
    return parts.first();
}

QStringList quotedIncludes(const QString& file)
{
    QFile in(file);
    if (!in.open(QIODevice::ReadOnly))
        return {};
    static const QRegularExpression include(R"re(^\s*#\s*include\s+"([^"]+)")re",
                                            QRegularExpression::MultilineOption);
    QStringList result;
    auto matches = include.globalMatch(QString::fromUtf8(in.readAll()));
    while (matches.hasNext())
        result << matches.next().captured(1);
    return result;
}

// Every include in core/, widgets/ and app/ of the tree at `root` that breaks
// the rule, as "file: #include "x": why".
QStringList layeringViolations(const QString& root)
{
    const QDir top(root);
    QStringList violations;
    for (const QString& folder : {QStringLiteral("core"), QStringLiteral("widgets"), QStringLiteral("app")}) {
        QDirIterator files(top.filePath(folder), {"*.h", "*.cpp"}, QDir::Files, QDirIterator::Subdirectories);
        while (files.hasNext()) {
            const QString file = files.next();
            const QString relative = top.relativeFilePath(file);
            for (const QString& include : quotedIncludes(file)) {
                auto flag = [&](const QString& why) {
                    violations << QStringLiteral("%1: #include \"%2\": %3").arg(relative, include, why);
                };
                if (folder == "core") {
                    if (include.startsWith("core/")) {
                        flag("inside core/, write includes from core's root (drop \"core/\")");
                        continue;
                    }
                    if (!QFile::exists(top.filePath("core/" + include))) {
                        flag("no such file under core/ (includes are written from core's root)");
                        continue;
                    }
                    const QString from = roomOf(relative.mid(5));
                    const QString to = roomOf(include);
                    if (from == to)
                        continue;
                    const int fromLevel = levelOf(from), toLevel = levelOf(to);
                    if (fromLevel < 0 || toLevel < 0)
                        flag("'" + (fromLevel < 0 ? from : to) + "' is not a room of core/ in the rule");
                    else if (toLevel >= fromLevel)
                        flag("'" + from + "' may not use '" + to + "' (same or higher room)");
                } else if (include.startsWith("core/")) {
                    if (folder == "widgets")
                        flag("widgets/ never include core/");
                } else if (folder == "widgets" && include.startsWith("app/")) {
                    flag("widgets/ never include app/");
                }
            }
        }
    }
    return violations;
}

void writeFile(const QString& path, const QByteArray& text)
{
    QDir().mkpath(QFileInfo(path).path());
    QFile out(path);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(text);
}

} // namespace

class TestLayering : public QObject {
    Q_OBJECT

private slots:
    void theSourceTreeKeepsTheIncludeRule()
    {
        const QStringList violations = layeringViolations(JIIO_SOURCE_DIR);
        for (const QString& line : violations)
            qWarning("%s", qPrintable(line));
        QVERIFY2(violations.isEmpty(), qPrintable(QString::number(violations.size()) + " include(s) break the rule"));
    }

    // The checker itself: each kind of wrong include is caught, and a right one is not.
    void wrongIncludesAreNamed()
    {
        QTemporaryDir tree;
        QVERIFY(tree.isValid());
        const QDir root(tree.path());
        writeFile(root.filePath("core/error.h"), "");
        writeFile(root.filePath("core/io/image_io.h"), "#include \"error.h\"\n");
        writeFile(root.filePath("core/tasks/restoration/restore.h"), "#include \"models/deq_model.h\"\n");
        writeFile(root.filePath("core/tasks/adversarial/attack.h"), "#include \"tasks/restoration/restore.h\"\n");
        writeFile(root.filePath("core/models/deq_model.h"),
                  "#include \"io/image_io.h\"\n#include \"tasks/restoration/restore.h\"\n");
        writeFile(root.filePath("core/solvers/anderson.h"), "#include \"models/deq_model.h\"\n#include \"core/error.h\"\n");
        writeFile(root.filePath("widgets/canvas.h"), "#include \"core/io/image_io.h\"\n");
        writeFile(root.filePath("app/cli/main.cpp"), "#include \"core/models/deq_model.h\"\n#include \"widgets/canvas.h\"\n");

        const QStringList violations = layeringViolations(root.path());
        auto named = [&](const QString& file, const QString& include) {
            for (const QString& line : violations)
                if (line.startsWith(file + ": #include \"" + include + "\""))
                    return true;
            return false;
        };
        QVERIFY(named("core/models/deq_model.h", "tasks/restoration/restore.h"));      // upward
        QVERIFY(named("core/solvers/anderson.h", "models/deq_model.h"));               // sideways
        QVERIFY(named("core/solvers/anderson.h", "core/error.h"));                     // not from core's root
        QVERIFY(named("core/tasks/adversarial/attack.h", "tasks/restoration/restore.h")); // task to task
        QVERIFY(named("widgets/canvas.h", "core/io/image_io.h"));                      // widgets into core
        QCOMPARE(violations.size(), 5); // the downward includes and app's are fine
    }
};

QTEST_APPLESS_MAIN(TestLayering)
#include "test_layering.moc"
