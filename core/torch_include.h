#pragma once
// The one place the project includes LibTorch. Qt defines `slots` as a macro,
// which collides with identifiers inside LibTorch's headers; hide it here so
// Qt front ends can include core headers in any order.
#pragma push_macro("slots")
#undef slots
#include <torch/torch.h>
#pragma pop_macro("slots")
