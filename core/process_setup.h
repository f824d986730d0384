#pragma once

namespace jiio {

// What every executable of the project sets up once, after its Qt
// application object exists (which sets the C locale from the environment):
// - numbers print and parse with a '.' whatever the user's locale
//   (LC_NUMERIC "C"; messages, dates and the GUI keep the user's locale);
// - a file-size limit makes a write fail with an error instead of killing
//   the process (SIGXFSZ ignored), so an atomic save can report it and keep
//   the old file.
void setUpProcess();

} // namespace jiio
