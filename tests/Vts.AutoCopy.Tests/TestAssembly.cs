using System.Runtime.CompilerServices;

namespace Vts.AutoCopy.Tests;

internal static class TestAssembly
{
    /// <summary>The tests block threads of the .NET pool while they wait (TestKit's synchronous ExpectMsg and
    /// ReceiveN), and on 2 cores the pool starts with 2 threads and adds more about one per half second. The journal
    /// tests' actors then waited for a thread: in CI a 20 s ReceiveN returned after 59 s with nothing received.
    /// Seen only in this test process: the node does not wait on pool threads, and its SQLite calls have threads of
    /// their own.</summary>
    [ModuleInitializer]
    internal static void EnoughPoolThreads()
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), completionPorts);
    }
}
