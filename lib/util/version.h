#pragma once
#define COPILOT_UTILS_VERSION "0.1.0"
