#pragma once
#include <optional>
#include <string>
#include <vector>
namespace copilot::wire {
std::optional<std::string> catalogue_model(std::string_view name, const std::vector<std::string>& ids);
std::vector<std::string> close_model_names(std::string_view name, const std::vector<std::string>& ids);
}
