//! The `baocao` command, built as part of the tests so that they can run it as a process
//! (SIGKILL, SIGTERM) without a build of their own.

fn main() -> std::process::ExitCode {
    baocao::entry::main()
}
