using System.Buffers;
using Google.Protobuf;
using Qlik.Sse;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;
using FunctionDefinition = SsePlugin.Server.Invocation.FunctionDefinition;

namespace SsePlugin.Server.Tests.Invocation;

/// <summary>
/// A call's request messages from memory: the bytes of real <c>BundledRows</c>, as the transport hands them over.
/// A message can be held back, so that the call has to wait for it.
/// </summary>
internal sealed class MemoryRequests(params BundledRows[] bundles) : IRequestReader
{
    private readonly byte[][] _messages = [.. bundles.Select(b => b.ToByteArray())];
    private int _next;

    /// <summary>Gets or sets the index of a message that is sent only when <see cref="Release"/> is called.</summary>
    public int HeldBack { get; init; } = -1;

    /// <summary>Gets the gate the held-back message waits on.</summary>
    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Gets the number of messages read.</summary>
    public int Read => _next;

    public ValueTask<RequestMessage?> ReadAsync()
    {
        if (_next == _messages.Length)
        {
            return new((RequestMessage?)null);
        }

        var message = RequestMessage.Copy(new ReadOnlySequence<byte>(_messages[_next]));
        return _next++ == HeldBack ? WaitAsync(message) : new(message);
    }

    public void Release() => Gate.SetResult();

    private async ValueTask<RequestMessage?> WaitAsync(RequestMessage message)
    {
        await Gate.Task;
        return message;
    }
}

/// <summary>A call's answer in memory: each message parsed back with Google's generated types, in order.</summary>
internal sealed class MemoryAnswers : IAnswerWriter
{
    /// <summary>Gets what was sent, in order: "headers", "rows", "trailer".</summary>
    public List<string> Events { get; } = [];

    /// <summary>Gets the answer messages.</summary>
    public List<BundledRows> Messages { get; } = [];

    /// <summary>Gets the size of each answer message in bytes.</summary>
    public List<int> Sizes { get; } = [];

    /// <summary>Gets whether the headers said no-store.</summary>
    public bool NoStoreHeader { get; private set; }

    /// <summary>Gets the table description the headers carried.</summary>
    public TableDescription? Description { get; private set; }

    /// <summary>Gets whether the trailer said no-store.</summary>
    public bool NoStoreTrailer { get; private set; }

    /// <summary>Gets or sets a hook run before each answer message is taken.</summary>
    public Action? OnWrite { get; set; }

    /// <summary>Gets the answer's rows, each message's after the last's.</summary>
    public List<Row> Rows => [.. Messages.SelectMany(m => m.Rows)];

    public ValueTask WriteHeadersAsync(bool noStore, byte[]? tableDescription)
    {
        Events.Add("headers");
        NoStoreHeader = noStore;
        Description = tableDescription is null ? null : TableDescription.Parser.ParseFrom(tableDescription);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(ResponseChunk chunk)
    {
        OnWrite?.Invoke();
        var bytes = new ArrayBufferWriter<byte>();
        chunk.WriteTo(bytes);
        Assert.Equal(chunk.Size, bytes.WrittenCount);
        Events.Add("rows");
        Sizes.Add(bytes.WrittenCount);
        Messages.Add(BundledRows.Parser.ParseFrom(bytes.WrittenSpan));
        return ValueTask.CompletedTask;
    }

    public void WriteNoStoreTrailer()
    {
        Events.Add("trailer");
        NoStoreTrailer = true;
    }
}

/// <summary>Builds calls of functions compiled by the real discovery, fed from memory.</summary>
internal static class Calls
{
    public static BundledRows Bundle(params Row[] rows) => new() { Rows = { rows } };

    public static Row Numbers(params double[] values) =>
        new() { Duals = { values.Select(v => new Dual { NumData = v }) } };

    public static Row Texts(params string[] values) =>
        new() { Duals = { values.Select(v => new Dual { StrData = v }) } };

    public static FunctionDefinition Function(Type functions, int id) =>
        ValidationTests.Catalog(functions).TryGet(id, out var function)
            ? function
            : throw new ArgumentException($"No function {id}", nameof(id));

    public static (FunctionCall Call, MemoryAnswers Answers) Start(
        FunctionDefinition function,
        IRequestReader requests,
        int bundleBytes = 64 * 1024,
        int maxMemoryMegabytes = 0,
        SseCallContext? context = null)
    {
        context ??= new SseCallContext("app", "user", 0, CancellationToken.None);
        var answers = new MemoryAnswers();
        var response = new ResponseWriter(answers, context, function, bundleBytes);
        return (new FunctionCall(function, requests, response, context, maxMemoryMegabytes), answers);
    }

    /// <summary>Runs a call to its end, as the transport does.</summary>
    public static async Task<MemoryAnswers> RunAsync(FunctionDefinition function, params BundledRows[] bundles)
    {
        var (call, answers) = Start(function, new MemoryRequests(bundles));
        await function.Invoker.InvokeAsync(call);
        await call.Response.CompleteAsync();
        return answers;
    }
}
