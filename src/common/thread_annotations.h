// Clang thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html), with
// Abseil's names prefixed SLUICE_. They expand to nothing on other compilers; the `clang` preset
// builds with -Wthread-safety -Werror, so a guarded member touched without its mutex, or a
// REQUIRES function called without it, fails that build.
//
//   Mutex mu_;
//   int count_ SLUICE_GUARDED_BY(mu_) = 0;
//   void BumpLocked() SLUICE_REQUIRES(mu_);
//   void Bump() SLUICE_EXCLUDES(mu_);
//
// libstdc++'s std::mutex carries no annotations: use sluice::Mutex (common/mutex.h).
#pragma once

#if defined(__clang__)
#define SLUICE_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define SLUICE_THREAD_ANNOTATION_(x)
#endif

// On a class: its objects are capabilities (a mutex). `x` names the kind, e.g. "mutex".
#define SLUICE_CAPABILITY(x) SLUICE_THREAD_ANNOTATION_(capability(x))
// On a class: an RAII object that holds a capability from construction to destruction.
#define SLUICE_SCOPED_CAPABILITY SLUICE_THREAD_ANNOTATION_(scoped_lockable)

// On a data member: reading or writing it requires holding `x`.
#define SLUICE_GUARDED_BY(x) SLUICE_THREAD_ANNOTATION_(guarded_by(x))
// On a pointer member: the pointee (not the pointer) requires holding `x`.
#define SLUICE_PT_GUARDED_BY(x) SLUICE_THREAD_ANNOTATION_(pt_guarded_by(x))

// Lock ordering between capabilities (checked with -Wthread-safety-beta only).
#define SLUICE_ACQUIRED_BEFORE(...) SLUICE_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))
#define SLUICE_ACQUIRED_AFTER(...) SLUICE_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))

// On a function: callers must hold the capabilities (exclusively / shared).
#define SLUICE_REQUIRES(...) SLUICE_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define SLUICE_REQUIRES_SHARED(...) \
  SLUICE_THREAD_ANNOTATION_(requires_shared_capability(__VA_ARGS__))
// On a function: callers must NOT hold the capabilities (it acquires them itself).
#define SLUICE_EXCLUDES(...) SLUICE_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))

// On a function: it acquires / releases the capabilities (no argument: `this`).
#define SLUICE_ACQUIRE(...) SLUICE_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define SLUICE_ACQUIRE_SHARED(...) SLUICE_THREAD_ANNOTATION_(acquire_shared_capability(__VA_ARGS__))
#define SLUICE_RELEASE(...) SLUICE_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define SLUICE_RELEASE_SHARED(...) SLUICE_THREAD_ANNOTATION_(release_shared_capability(__VA_ARGS__))
// Releases a capability held either exclusively or shared (a scoped lock's destructor).
#define SLUICE_RELEASE_GENERIC(...) \
  SLUICE_THREAD_ANNOTATION_(release_generic_capability(__VA_ARGS__))
// On a function returning bool: it acquires the capabilities when it returns `result`.
#define SLUICE_TRY_ACQUIRE(...) SLUICE_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#define SLUICE_TRY_ACQUIRE_SHARED(...) \
  SLUICE_THREAD_ANNOTATION_(try_acquire_shared_capability(__VA_ARGS__))

// On a function: it checks at run time that the capability is held (the analysis trusts it).
#define SLUICE_ASSERT_CAPABILITY(x) SLUICE_THREAD_ANNOTATION_(assert_capability(x))
#define SLUICE_ASSERT_SHARED_CAPABILITY(x) SLUICE_THREAD_ANNOTATION_(assert_shared_capability(x))
// On a function: it returns a reference to the capability `x` (an accessor of a mutex).
#define SLUICE_RETURN_CAPABILITY(x) SLUICE_THREAD_ANNOTATION_(lock_returned(x))

// On a function: do not analyse it. Only with a comment saying why the analysis cannot follow.
#define SLUICE_NO_THREAD_SAFETY_ANALYSIS SLUICE_THREAD_ANNOTATION_(no_thread_safety_analysis)
