using System.Diagnostics;
using System.Text;
using SsePlugin.FunctionalTests.R;
using SsePlugin.Rserve;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.Python;

/// <summary>
/// Under a host running as root each Python call runs under a user id of its own, given in turn, with its own folders
/// where everyone may write and its own message queues: a script cannot signal, trace or read another call's processes
/// or files, the process limit counts per call, and a later call finds nothing of an earlier one (as root, as CI runs
/// the tests). Scripts see none of the host's environment variables but those programs need.
/// </summary>
[Collection(SharedPythonHost.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PythonIsolationTests(PythonHostFixture python)
{
    private static readonly (string, SseDataType)[] OneNumber = [("x", SseDataType.Numeric)];

    // Python that finds the process of another call by its command line, `sleep MARK`.
    private const string FindOther = """
        import os, signal
        def command(p):
            try:
                return open(f'/proc/{p}/cmdline', 'rb').read()
            except OSError:
                return b''
        pid = next(int(p) for p in os.listdir('/proc') if p.isdigit() and command(p) == b'sleep\x00MARK\x00')

        """;

    [Theory]
    [InlineData("61.1", "os.kill(pid, signal.SIGKILL)", "PermissionError: [Errno 1] Operation not permitted")]
    [InlineData("61.2", "open(f'/proc/{pid}/environ', 'rb').read()", "PermissionError: [Errno 13] Permission denied")]
    [InlineData("61.3", "open(f'/proc/{pid}/mem', 'rb').read(1)", "PermissionError: [Errno 13] Permission denied")]
    [InlineData("61.4", "open('/tmp/sseplugin-secret').read()", "FileNotFoundError: [Errno 2] No such file")]
    public async Task A_call_cannot_signal_trace_or_read_the_processes_and_files_of_another_running_call(
        string mark, string attempt, string error)
    {
        RequireRoot();
        var victim = python.Client.EvaluateAsync(
            "import subprocess\nopen('/tmp/sseplugin-secret', 'w').write('secret of the victim')\n"
            + $"child = subprocess.Popen(['sleep', '{mark}'], env={{'SECRET': 'secret of the victim'}})\n"
            + "child.wait(timeout=25)\nqResult = 1",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));
        var sleep = await ProcessesAsync(mark, 1);

        var attack = await FailsAsync(() => python.Client.EvaluateAsync(
            FindOther.Replace("MARK", mark, StringComparison.Ordinal) + attempt + "\nqResult = 1",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));
        Process.GetProcessById(sleep[0]).Kill();

        var answer = await victim;

        Assert.StartsWith($"ScriptEval: Python error: {error}", attack.Status.Detail);
        Assert.Equal([1], answer.Numbers());
    }

    [Fact]
    public async Task The_process_limit_counts_the_processes_of_each_call_apart()
    {
        RequireRoot();
        await using var host = await PythonHostFixture.StartHostAsync("--SsePlugin:Python:ProcessLimit", "16");
        var busy = host.Client.EvaluateAsync(
            "import subprocess\nchildren = [subprocess.Popen(['sleep', '62.5']) for _ in range(10)]\n"
            + "children[0].wait(timeout=25)\nqResult = 1",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));
        var sleeps = await ProcessesAsync("62.5", 10);

        // With the busy call's 11 processes, 10 more would pass a limit of 16 counted over both calls.
        var beside = await host.Client.EvaluateAsync(
            "import subprocess\nchildren = [subprocess.Popen(['sleep', '0']) for _ in range(10)]\n"
            + "qResult = sum(child.wait() == 0 for child in children)",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));
        var over = await FailsAsync(() => host.Client.EvaluateAsync(
            "import subprocess\nchildren = [subprocess.Popen(['sleep', '0']) for _ in range(20)]\nqResult = 1",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));
        Process.GetProcessById(sleeps[0]).Kill();
        var answer = await busy;

        Assert.Equal([10], beside.Numbers());
        Assert.StartsWith("ScriptEval: Python error: BlockingIOError: [Errno 11] Resource temporarily unavailable",
            over.Status.Detail);
        Assert.Equal([1], answer.Numbers());
    }

    [Fact]
    public async Task A_later_call_finds_no_process_file_or_message_queue_an_earlier_one_left()
    {
        RequireRoot();
        Assert.True(Directory.Exists("/run/lock"), "This test needs /run/lock, which everyone may write to (Debian).");
        // The call's user id, its live processes besides itself (an ended one may wait as a zombie for init), the
        // files of folders everyone may write to, whether the message queue /left-behind is there.
        const string Report = """
            import ctypes, os
            def user(p):
                try:
                    status = dict(line.split(':', 1) for line in open(f'/proc/{p}/status'))
                except OSError:
                    return None
                return None if status['State'].split()[0] in 'ZX' else int(status['Uid'].split()[0])
            mine = [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid() and user(p) == os.getuid()]
            files = sorted(os.listdir('/tmp') + os.listdir('/run/lock') + os.listdir('/dev/shm'))
            queue = ctypes.CDLL(None).mq_open(b'/left-behind', os.O_RDONLY) != -1
            qResult = f'user {os.getuid()}, processes {len(mine)}, files {files}, queue {queue}'
            """;
        try
        {
            var first = await python.Client.EvaluateAsync(
                "import ctypes, os, subprocess\nfor folder in ('/tmp', '/run/lock', '/dev/shm'):\n"
                + "    open(f'{folder}/left-behind', 'w').write('x')\n"
                + "ctypes.CDLL(None).mq_open(b'/left-behind', os.O_CREAT | os.O_RDWR, 0o600, None)\n"
                + "subprocess.Popen(['sleep', '63.5'], start_new_session=True)\n" + Report,
                SseFunctionType.Scalar, SseDataType.String, OneNumber, Bundle([Numeric(1)]));
            var user = first.Strings()[0].Split(',')[0];
            Assert.True(await ProcessChecks.WithinHalfAMinuteAsync(() => Marked("63.5").Length == 0));

            var later = await python.Client.EvaluateAsync(
                Report, SseFunctionType.Scalar, SseDataType.String, OneNumber, Bundle([Numeric(1)]));

            Assert.Equal(
                $"{user}, processes 1, files ['left-behind', 'left-behind', 'left-behind'], queue True",
                first.Strings()[0]);
            Assert.EndsWith(", processes 0, files [], queue False", later.Strings()[0]);
            Assert.NotEqual(user, later.Strings()[0].Split(',')[0]);
        }
        finally
        {
            File.Delete("/run/lock/left-behind");
        }
    }

    [Fact]
    public async Task A_script_sees_none_of_the_variables_the_host_was_started_with()
    {
        Environment.SetEnvironmentVariable("SSEPLUGIN_TEST_SECRET", "a password");
        try
        {
            await using var host = await PythonHostFixture.StartHostAsync();

            var names = await host.Client.EvaluateAsync(
                "import os\nqResult = ' '.join(sorted(os.environ))",
                SseFunctionType.Scalar, SseDataType.String, OneNumber, Bundle([Numeric(1)]));

            Assert.DoesNotContain("SSEPLUGIN_TEST_SECRET", names.Strings()[0], StringComparison.Ordinal);
            Assert.Contains("PATH", names.Strings()[0], StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SSEPLUGIN_TEST_SECRET", null);
        }
    }

    private static void RequireRoot() => Assert.True(
        Environment.IsPrivilegedProcess,
        "This test needs root (CI runs the tests as root): only a host running as root gives Python calls ids of "
        + "their own.");

    // Waits for the processes `sleep MARK` a script starts, and answers their ids.
    private static async Task<int[]> ProcessesAsync(string mark, int count)
    {
        Assert.True(await ProcessChecks.WithinHalfAMinuteAsync(() => Marked(mark).Length >= count));
        return Marked(mark);
    }

    private static int[] Marked(string mark)
    {
        var command = Encoding.ASCII.GetBytes($"sleep\0{mark}\0");
        return
        [
            .. Directory.EnumerateDirectories("/proc")
                .Select(Path.GetFileName)
                .Where(name => int.TryParse(name, out _))
                .Select(int.Parse!)
                .Where(pid => Command(pid).AsSpan().SequenceEqual(command) && RserveProcess.UserId(pid) is not null),
        ];
    }

    private static byte[] Command(int pid)
    {
        try
        {
            return File.ReadAllBytes($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return [];
        }
    }
}
