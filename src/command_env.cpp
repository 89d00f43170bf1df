// SPDX-License-Identifier: MIT
//
// A program's environment: the parent's (or none) with the command's edits
// and its channel's variables, and lookups of a variable in it.
//
// Every spawn scans the parent's environment at least once (for a channel's
// variables), so a scan compares an entry's first two bytes before anything else:
// most entries differ there, and a call to strncmp() per entry cost more
// than the rest of the launch's own work (callgrind).
#include "command.hpp"

#include <algorithm>
#include <cstring>

extern char **environ;

namespace procreact
{
namespace
{

// Whether @p entry ("NAME=value") starts with @p prefix (@p len bytes, not
// empty). Two bytes first: names that share the first (PATH, PWD, PYTHON...)
// mostly differ at the second.
inline bool starts_with(const char *entry, const char *prefix, std::size_t len) noexcept
{
    return entry[0] == prefix[0] &&
           (len == 1 || (entry[1] == prefix[1] && std::strncmp(entry + 2, prefix + 2, len - 2) == 0));
}

// Whether the parent's environment names a channel (its variables must not
// reach a program that has none: the number would name another descriptor).
bool environ_has_channel() noexcept
{
    if (environ == nullptr)
        return false;
    static const char kPrefix[] = "PROCREACT_CHANNEL_";
    for (char **e = environ; *e != nullptr; ++e)
        if (starts_with(*e, kPrefix, sizeof kPrefix - 1))
            return true;
    return false;
}

} // namespace

char *const *build_env(const ProcReact_Command &c, int channel_fd, std::vector<std::string> &storage,
                       std::vector<char *> &envp)
{
    static char *const kEmpty[] = {nullptr};
    if (c.env_edits.empty() && channel_fd < 0 && (c.clear_env || !environ_has_channel()))
        return c.clear_env || environ == nullptr ? kEmpty : environ;
    storage.clear();
    if (!c.clear_env && environ != nullptr)
        for (char **e = environ; *e != nullptr; ++e)
            storage.emplace_back(*e);
    std::vector<ProcReact_Command::EnvEdit> edits(c.env_edits);
    if (channel_fd >= 0) {
        edits.push_back({PROCREACT_CHANNEL_FD_ENV, std::to_string(channel_fd), true});
        edits.push_back(
            {PROCREACT_CHANNEL_MODE_ENV, c.channel_mode == PROCREACT_CHANNEL_LINES ? "lines" : "framed", true});
    } else {
        edits.push_back({PROCREACT_CHANNEL_FD_ENV, std::string(), false});
        edits.push_back({PROCREACT_CHANNEL_MODE_ENV, std::string(), false});
    }
    for (const auto &edit : edits) {
        const std::size_t len = edit.name.size();
        storage.erase(std::remove_if(storage.begin(), storage.end(),
                                     [&](const std::string &entry) {
                                         return entry.size() > len && entry[len] == '=' &&
                                                starts_with(entry.c_str(), edit.name.c_str(), len);
                                     }),
                      storage.end());
        if (edit.set)
            storage.push_back(edit.name + "=" + edit.value);
    }
    envp.clear();
    envp.reserve(storage.size() + 1);
    for (auto &entry : storage)
        envp.push_back(&entry[0]);
    envp.push_back(nullptr);
    return envp.data();
}

const char *find_in(char *const *env, const char *name) noexcept
{
    const std::size_t len = std::strlen(name);
    for (; *env != nullptr; ++env)
        if (starts_with(*env, name, len) && (*env)[len] == '=')
            return *env + len + 1;
    return nullptr;
}

} // namespace procreact
