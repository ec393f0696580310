//! Packages that build software and have no use at run time: compilers, headers, build tools.
//! Kept as data; a package matches by its exact name, a prefix (versioned names such as
//! `gcc-12`, `g++-12`, `cpp-12`, rpm's `gcc-c++`) or a suffix (`-dev` headers in Debian and
//! Alpine alike, `-devel` in rpm's distributions).

/// Names matched exactly.
const EXACT: &[&str] = &[
    "autoconf",
    "automake",
    "binutils",
    "bison",
    "build-base",
    "build-essential",
    "clang",
    "cmake",
    "cpp",
    "dpkg-dev",
    "flex",
    "g++",
    "gcc",
    "gfortran",
    "git",
    "golang",
    "libtool",
    "linux-headers",
    "linux-libc-dev",
    "llvm",
    "m4",
    "make",
    "meson",
    "musl-dev",
    "nasm",
    "ninja-build",
    "patch",
    "pkg-config",
    "pkgconf",
    "pkgconf-pkg-config",
    "python3-pip",
    "redhat-rpm-config",
    "rpm-build",
    "rpmdevtools",
    "scons",
    "yasm",
];

/// Names that start like these (`gcc-12`, `binutils-x86-64-linux-gnu`, `libgcc-12-dev`).
const PREFIX: &[&str] = &[
    "binutils-",
    "clang-",
    "cpp-",
    "g++-",
    "gcc-",
    "gfortran-",
    "golang-",
    "libclang-",
    "llvm-",
    "openjdk-",
];

/// Names that end like these (headers and static libraries: `libssl-dev`, `zlib1g-dev`,
/// `python3-dev`, Alpine's `openssl-dev`).
const SUFFIX: &[&str] = &["-dev", "-devel", "-headers", "-jdk", "-static"];

/// Runtime libraries that share a build tool's prefix (rpm's `llvm-libs`, which Mesa loads).
const NOT_SUFFIX: &[&str] = &["-base", "-libs"];

/// Runtime pieces that share a build tool's prefix.
const NOT: &[&str] = &[
    "gcc-12-base",
    "gcc-13-base",
    "gcc-14-base",
    "libgcc-s1",
    "libstdc++6",
];

/// Whether `name` is a package that only building needs. `openjdk-17-jre` runs programs;
/// `openjdk-17-jdk` builds them: the JDKs match by their suffix, not their prefix.
pub fn is_build_time(name: &str) -> bool {
    if NOT.contains(&name) || NOT_SUFFIX.iter().any(|s| name.ends_with(s)) || name.contains("-jre")
    {
        return false;
    }
    EXACT.contains(&name)
        || PREFIX.iter().any(|p| name.starts_with(p))
        || SUFFIX.iter().any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchains_and_headers_but_not_their_runtimes() {
        for name in [
            "gcc-12",
            "cpp-12",
            "g++",
            "make",
            "zlib1g-dev",
            "libc6-dev",
            "python3-dev",
            "build-essential",
            "binutils-x86-64-linux-gnu",
            "openssl-dev",
            "openjdk-17-jdk",
            // rpm's names.
            "gcc-c++",
            "glibc-devel",
            "kernel-headers",
            "rpm-build",
            "golang",
            "pkgconf-pkg-config",
            "java-17-openjdk-devel",
        ] {
            assert!(is_build_time(name), "{name}");
        }
        for name in [
            "gcc-12-base",
            "libgcc-s1",
            "libstdc++6",
            "zlib1g",
            "bash",
            "openjdk-17-jre-headless",
            "libdevmapper1.02.1",
            "python3",
            "jq",
            "llvm-libs",
            "clang-libs",
            "libgcc",
            "glibc",
            "java-17-openjdk-headless",
            "rpm",
        ] {
            assert!(!is_build_time(name), "{name}");
        }
    }
}
