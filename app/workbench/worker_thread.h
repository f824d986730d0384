#pragma once
#include <QThread>

#include <utility>

namespace jiio::workbench {

// A view's worker lives in its own thread and is replaced whenever the view's
// model changes. These end one (its run asked to stop, the thread finished)
// and put a new one in its place; `Worker` has requestStop().

template <typename Worker>
void retireWorker(QThread& thread, Worker*& worker)
{
    if (worker)
        worker->requestStop();
    thread.quit();
    thread.wait();
    delete worker;
    worker = nullptr;
}

// The new worker is moved into `thread`; connect its signals, then start the thread.
template <typename Worker, typename... Arguments>
void replaceWorker(QThread& thread, Worker*& worker, Arguments&&... arguments)
{
    retireWorker(thread, worker);
    worker = new Worker(std::forward<Arguments>(arguments)...);
    worker->moveToThread(&thread);
}

} // namespace jiio::workbench
