import CMallocCounter
import RetraceCLI

// The tool links the counting allocator: benchmarks can count the core thread's allocations.
if retrace_malloc_counter_active() != 0 {
    BenchCommand.threadAllocations = { retrace_thread_allocations() }
}
RetraceCommandLine.main()
