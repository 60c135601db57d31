// Preloaded only by --profile: --cpu-prof writes its file when the process exits normally, and a
// SIGTERM without an app handler ends it by the signal. SIGUSR2, which periscope leaves alone,
// exits through process.exit() instead.
process.on('SIGUSR2', () => process.exit(0));
