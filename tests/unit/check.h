// A minimal unit-test runner: TEST(name) { CHECK(expr); CHECK_EQ(a, b); }
// Each test binary prints one line per failure and a pass/fail count, and
// exits non-zero if anything failed.
#pragma once

#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "util/errors.h"

namespace check {

struct Case {
    const char* name;
    std::function<void()> fn;
};

inline std::vector<Case>& cases() {
    static std::vector<Case> all;
    return all;
}

inline int& failures() {
    static int n = 0;
    return n;
}

struct Register {
    Register(const char* name, std::function<void()> fn) { cases().push_back({name, fn}); }
};

inline void fail(const char* file, int line, const std::string& what) {
    ++failures();
    std::cerr << file << ":" << line << ": FAIL: " << what << "\n";
}

template <typename A, typename B>
void check_eq(const A& a, const B& b, const char* as, const char* bs, const char* file,
              int line) {
    if (!(a == b)) {
        std::ostringstream m;
        m << as << " == " << bs << "  (got [" << a << "] vs [" << b << "])";
        fail(file, line, m.str());
    }
}

}  // namespace check

#define CHECK_CAT2(a, b) a##b
#define CHECK_CAT(a, b) CHECK_CAT2(a, b)
#define TEST(name)                                                         \
    static void CHECK_CAT(test_, name)();                                  \
    static check::Register CHECK_CAT(reg_, name)(#name, CHECK_CAT(test_, name)); \
    static void CHECK_CAT(test_, name)()

#define CHECK(expr) \
    do { if (!(expr)) check::fail(__FILE__, __LINE__, #expr); } while (0)
#define CHECK_EQ(a, b) check::check_eq((a), (b), #a, #b, __FILE__, __LINE__)

// CHECK_THROWS(expr, Exit::usage): expr must throw copilot::Error with that code.
#define CHECK_THROWS(expr, exit_code)                                               \
    do {                                                                            \
        bool thrown_ = false;                                                       \
        try { (void)(expr); } catch (const copilot::Error& e_) {                    \
            thrown_ = true;                                                         \
            if (e_.code() != (exit_code))                                           \
                check::fail(__FILE__, __LINE__, std::string(#expr " threw code ") + \
                                std::to_string(e_.status()) + ": " + e_.what());    \
        }                                                                           \
        if (!thrown_) check::fail(__FILE__, __LINE__, #expr " did not throw");      \
    } while (0)

// CHECK_THROWS_MSG(expr, code, "substring"): as above, and the message contains it.
#define CHECK_THROWS_MSG(expr, exit_code, substr)                                    \
    do {                                                                             \
        bool thrown_ = false;                                                        \
        try { (void)(expr); } catch (const copilot::Error& e_) {                     \
            thrown_ = true;                                                          \
            if (e_.code() != (exit_code) ||                                          \
                std::string(e_.what()).find(substr) == std::string::npos)            \
                check::fail(__FILE__, __LINE__, std::string(#expr " threw ") +       \
                                std::to_string(e_.status()) + ": " + e_.what());     \
        }                                                                            \
        if (!thrown_) check::fail(__FILE__, __LINE__, #expr " did not throw");       \
    } while (0)

int main(int argc, char** argv) {
    std::string only = argc > 1 ? argv[1] : "";
    int run = 0;
    for (auto& c : check::cases()) {
        if (!only.empty() && only != c.name) continue;
        int before = check::failures();
        try {
            c.fn();
        } catch (const std::exception& e) {
            check::fail(c.name, 0, std::string("unexpected exception: ") + e.what());
        }
        ++run;
        if (check::failures() != before) std::cerr << "  in test " << c.name << "\n";
    }
    std::cout << argv[0] << ": " << run << " tests, " << check::failures() << " failures\n";
    return check::failures() == 0 ? 0 : 1;
}
