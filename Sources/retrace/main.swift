import RetraceCLI
RetraceCommandLine.main()
