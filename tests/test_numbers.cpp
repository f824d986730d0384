// Numbers in files and on the terminal: parsed and printed the same whatever
// the locale, and printed so that they read back exactly.
#include "core/numbers.h"

#include <QtTest>

#include <clocale>
#include <cmath>
#include <limits>

class TestNumbers : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parsesWholeTextsOnly()
    {
        QCOMPARE(jiio::parseDouble("0.25").value_or(-1), 0.25);
        QCOMPARE(jiio::parseDouble("+1e-3").value_or(-1), 1e-3);
        QVERIFY(!jiio::parseDouble("0,25"));
        QVERIFY(!jiio::parseDouble("1.5x"));
        QVERIFY(!jiio::parseDouble(""));
        QCOMPARE(jiio::parseInteger("-42").value_or(0), -42LL);
        QVERIFY(!jiio::parseUnsigned("-1"));
        QVERIFY(!jiio::parseInteger("99999999999999999999")); // out of range
    }

    void formatsTheShortestTextThatReadsBackExactly_data()
    {
        QTest::addColumn<double>("value");
        QTest::addColumn<QString>("text");
        QTest::newRow("tenth") << 0.1 << "0.1";
        QTest::newRow("integer") << 3.0 << "3";
        QTest::newRow("small") << 1e-5 << "1e-05";
        QTest::newRow("negative") << -29.94 << "-29.94";
        QTest::newRow("third") << 1.0 / 3.0 << "0.3333333333333333";
    }
    void formatsTheShortestTextThatReadsBackExactly()
    {
        QFETCH(double, value);
        QFETCH(QString, text);
        QCOMPARE(QString::fromStdString(jiio::formatDouble(value)), text);
        QCOMPARE(jiio::parseDouble(jiio::formatDouble(value)).value_or(std::nan("")), value);
    }

    void nonFiniteValuesHaveNames()
    {
        QCOMPARE(QString::fromStdString(jiio::formatDouble(std::numeric_limits<double>::infinity())), "inf");
        QCOMPARE(QString::fromStdString(jiio::formatDouble(-std::numeric_limits<double>::infinity())), "-inf");
        QCOMPARE(QString::fromStdString(jiio::formatDouble(std::nan(""))), "nan");
    }
};

QTEST_APPLESS_MAIN(TestNumbers)
#include "test_numbers.moc"
