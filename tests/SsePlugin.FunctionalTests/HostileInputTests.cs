using System.Globalization;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;
using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// Hostile input at all three RPCs. Every case ends with a clear status (or a clean close), a call running next to
/// it on the same connection finishes correctly, and the host goes on serving.
/// </summary>
/// <remarks>
/// The heavy cases run against the host executable in a process of its own (<see cref="ChildHost"/>), which measures
/// its managed heap after a full collection before and after the case; it must come back within
/// <see cref="MemoryMargin"/>. Measuring in the test process would count the test's client too: Grpc.Net.Client
/// rents a pooled buffer the size of each message it sends (128 MB for the message over the limit), and the pool
/// keeps it. The host's RSS would not do either: the GC keeps memory it has committed for later use. What the
/// margin allows for is Kestrel's memory pool, which keeps the blocks that buffered the largest message (grpc-dotnet
/// reads a message whole) and gives them back slowly: about 10 MB after the 10 MB strings, the same after every
/// further one.
/// </remarks>
[Collection(SharedHost.Name)]
public sealed class HostileInputTests(
    HostFixture host,
    HostileInputTests.ChildHostFixture child) : IClassFixture<HostileInputTests.ChildHostFixture>, IDisposable
{
    private const long MemoryMargin = 16 * 1024 * 1024;

    private static readonly (string, SseDataType)[] OneNumber = [("value", SseDataType.Numeric)];

    private static readonly (string, SseDataType)[] OneString = [("text", SseDataType.String)];

    // Every call of a test shares one connection with its bystander, so a case that broke the connection would show.
    private readonly SseClient _client = new(host.Host.Addresses[0]);

    private SseClient Client => _client;

    private CallInvoker Raw => _client.Channel.CreateCallInvoker();

    public static TheoryData<byte[], string> MalformedBodies => new()
    {
        { [0x0A, 0x80], "a varint is cut off or longer than 10 bytes" },
        { [0x0F, 0x00], "wire type 7 is not valid here" },
        { [0x00, 0x0A, 0x00], "a field has number 0 or one out of range" },
        { [0x0A, 0x05, 0x0A, 0x00], "a field runs past the end of its message" },
        { [0x0A, 0x02, 0x0A, 0x09], "a field runs past the end of its message" },
        { [0x0A, 0x05, 0x0A, 0x03, 0x09, 0x01, 0x02], "a number runs past the end of its message" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task A_malformed_body_is_an_invalid_argument_for_functions_and_scripts(byte[] body, string problem)
    {
        await RefusedAsync(
            () => Raw.SendAsync(RawCalls.ExecuteFunction, Headers(5), body),
            StatusCode.InvalidArgument,
            $"SumOfRows: The message is not a valid BundledRows: {problem}.");
        await RefusedAsync(
            () => Raw.SendAsync(
                RawCalls.EvaluateScript, ScriptHeaders("args[0]", SseFunctionType.Tensor, SseDataType.Numeric,
                    OneNumber),
                body),
            StatusCode.InvalidArgument,
            $"ScriptEval: The message is not a valid BundledRows: {problem}.");
    }

    public static TheoryData<byte[], StatusCode, string> MisframedBodies => new()
    {
        {
            [0x05, 0x00, 0x00, 0x00, 0x00], StatusCode.InvalidArgument,
            "SumOfRows: The request is not valid gRPC message framing: Unexpected compressed flag"
        },
        {
            [0x01, 0x00, 0x00, 0x00, 0x02, 0x0A, 0x00], StatusCode.InvalidArgument,
            "SumOfRows: The request is not valid gRPC message framing: "
            + "Request did not include grpc-encoding value with compressed message."
        },
        {
            [0x00, 0x00, 0x00, 0x00, 0x0A, 0x0A, 0x00], StatusCode.InvalidArgument,
            "SumOfRows: The request is not valid gRPC message framing: Incomplete message."
        },
        {
            [0x00, 0xFF, 0xFF, 0xFF, 0xFF], StatusCode.ResourceExhausted,
            "SumOfRows: a request message is larger than the 67108864 bytes SsePlugin:MaxReceiveMessageBytes allows."
        },
    };

    [Theory]
    [MemberData(nameof(MisframedBodies))]
    public async Task Misframed_messages_name_the_fault(byte[] body, StatusCode status, string detail)
    {
        // gRPC clients always frame messages correctly; a bare HTTP/2 request can send any byte: here a compressed
        // flag of 5, a compressed message without grpc-encoding, a request that ends 8 bytes into a 10-byte message,
        // and a length prefix of 4 GiB.
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(
            HttpMethod.Post, new Uri(host.Host.Addresses[0], "/qlik.sse.Connector/ExecuteFunction"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation(
            "qlik-functionrequestheader-bin",
            Convert.ToBase64String(new FunctionRequestHeader { FunctionId = 5 }.ToByteArray()));

        using var response = await client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        string Trailer(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var values)
            || response.Headers.TryGetValues(name, out values)
                ? values.Single()
                : "";

        Assert.Equal(((int)status).ToString(CultureInfo.InvariantCulture), Trailer("grpc-status"));
        Assert.StartsWith(detail, Uri.UnescapeDataString(Trailer("grpc-message")), StringComparison.Ordinal);
        await Client.AssertServesAsync();
    }

    [Fact]
    public async Task A_known_field_with_the_wrong_wire_type_is_skipped_as_protobuf_does()
    {
        byte[] body = [0x08, 0x01, .. Bundle([Numeric(1, 2)]).Message.ToByteArray()];

        var answer = await UnharmedAsync(() => Raw.SendAsync(RawCalls.ExecuteFunction, Headers(5), body));

        Assert.Equal([3], answer.Numbers());
    }

    [Fact]
    public async Task A_malformed_GetCapabilities_body_is_an_invalid_argument()
    {
        await RefusedAsync(
            () => Raw.AsyncUnaryCall(RawCalls.GetCapabilities, null, default, [0x0A, 0x05]).ResponseAsync,
            StatusCode.InvalidArgument,
            "The GetCapabilities request is not a valid Empty message");
    }

    [Fact]
    public async Task Garbage_headers_name_the_header_and_GetCapabilities_reads_none()
    {
        byte[] garbage = [0xFF, 0x00, 0xFE, 0x80];

        await RefusedAsync(
            () => Client.ExecuteAsync(
                With(Headers(5), "qlik-commonrequestheader-bin", garbage), [Bundle([Numeric(1, 2)])]),
            StatusCode.InvalidArgument,
            "The 'qlik-commonrequestheader-bin' header could not be read as a CommonRequestHeader");
        await RefusedAsync(
            () => Client.ExecuteAsync(
                With(Headers(5), "qlik-functionrequestheader-bin", garbage), [Bundle([Numeric(1, 2)])]),
            StatusCode.InvalidArgument,
            "The 'qlik-functionrequestheader-bin' header could not be read as a FunctionRequestHeader");
        await RefusedAsync(
            () => Raw.SendAsync(
                RawCalls.EvaluateScript,
                With(
                    ScriptHeaders("args[0]", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber),
                    "qlik-scriptrequestheader-bin", garbage)),
            StatusCode.InvalidArgument,
            "The 'qlik-scriptrequestheader-bin' header could not be read as a ScriptRequestHeader");

        var capabilities = await UnharmedAsync(
            () => Client.Connector.GetCapabilitiesAsync(
                new Empty(), With(Headers(5), "qlik-commonrequestheader-bin", garbage)).ResponseAsync);
        Assert.Contains(capabilities.Functions, f => f.Name == "SumOfRows");
    }

    [Fact]
    public async Task A_missing_script_header_is_refused_and_a_missing_common_header_is_an_unnamed_caller()
    {
        await RefusedAsync(
            () => Raw.SendAsync(RawCalls.EvaluateScript, new Metadata()),
            StatusCode.InvalidArgument,
            "The call carries no 'qlik-scriptrequestheader-bin' header");

        var answer = await UnharmedAsync(
            () => Client.ExecuteAsync(Without(Headers(105), "qlik-commonrequestheader-bin"), [Bundle([Text("x")])]));

        Assert.Equal(["||0|x"], answer.Strings());
    }

    [Fact]
    public async Task Headers_up_to_the_advertised_256_KB_are_read_and_larger_ones_never_leave_a_gRPC_client()
    {
        var large = new CommonRequestHeader { AppId = new string('a', 150_000) }.ToByteArray();
        var huge = new CommonRequestHeader { AppId = new string('a', 400_000) }.ToByteArray();

        var answer = await UnharmedAsync(
            () =>
                Client.ExecuteAsync(With(Headers(105), "qlik-commonrequestheader-bin", large), [Bundle([Text("x")])]));
        await RefusedAsync(
            () =>
                Client.ExecuteAsync(With(Headers(5), "qlik-commonrequestheader-bin", huge), [Bundle([Numeric(1, 2)])]),
            StatusCode.Internal,
            "The HTTP request headers length exceeded the server limit of 262144 bytes");

        Assert.StartsWith(new string('a', 150_000) + "|", answer.Strings().Single(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(300_000, "HEADERS 431")]
    [InlineData(600_000, "GOAWAY 1", "GOAWAY 9", "closed")]
    public async Task Oversized_headers_sent_anyway_fail_their_call_or_at_twice_the_limit_close_the_clients_connection(
        int length, params string[] outcomes)
    {
        var huge = Convert.ToBase64String(new CommonRequestHeader { AppId = new string('a', length) }.ToByteArray());

        var answer = await UnharmedAsync(
            () => RawHttp2.SendHeadersAsync(
                host.Host.Addresses[0], "/qlik.sse.Connector/ExecuteFunction", ("qlik-commonrequestheader-bin", huge)));

        // Up to twice the limit Kestrel answers the stream alone (status 431). Beyond, its guard against header floods
        // ends the connection that sent them; the rest of the headers, still arriving, then meet a closed socket,
        // whose reset can discard the GOAWAY unread.
        Assert.Contains(answer, outcomes);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("AAAAA")] // no padding makes 5 characters of base64 whole
    public async Task A_binary_header_that_is_not_base64_is_refused(string value)
    {
        using var tampering = new HeaderTampering("qlik-commonrequestheader-bin", value);
        var client = host.Host.Connect(tampering);

        await RefusedAsync(
            () => client.ExecuteAsync(Without(Headers(5), "qlik-commonrequestheader-bin"), [Bundle([Numeric(1, 2)])]),
            StatusCode.InvalidArgument,
            "The 'qlik-commonrequestheader-bin' header is not valid base64, as a binary (-bin) header must be, or it "
            + "was sent more than once.");
    }

    [Theory]
    [InlineData(7)] // a header of 9 bytes: base64 without padding
    [InlineData(9)] // 11 bytes: one padding character left out
    [InlineData(8)] // 10 bytes: two left out
    [InlineData(1001)] // 1004 bytes: one left out, from a header too long to decode on the stack
    public async Task A_binary_header_without_base64_padding_is_read_as_C_core_clients_send_it(int appIdLength)
    {
        var appId = new string('q', appIdLength);
        var unpadded = Convert.ToBase64String(new CommonRequestHeader { AppId = appId }.ToByteArray()).TrimEnd('=');
        using var tampering = new HeaderTampering("qlik-commonrequestheader-bin", unpadded);
        var client = host.Host.Connect(tampering);

        var answer = await UnharmedAsync(
            () => client.ExecuteAsync(Without(Headers(105), "qlik-commonrequestheader-bin"), [Bundle([Text("x")])]));

        Assert.Equal([$"{appId}||0|x"], answer.Strings());
    }

    [Theory]
    [InlineData("other.qvf")]
    [InlineData("")] // a header of no bytes, as an empty message (or the function header of id 0) is
    public async Task A_binary_header_sent_twice_is_refused(string appId)
    {
        // .NET's HTTP client joins the two values with a comma; gRPC C-core sends two header fields, refused as such.
        var again = Convert.ToBase64String(new CommonRequestHeader { AppId = appId }.ToByteArray());
        using var tampering = new HeaderTampering("qlik-commonrequestheader-bin", again);
        var client = host.Host.Connect(tampering);

        await RefusedAsync(
            () => client.ExecuteAsync(Headers(105), [Bundle([Text("x")])]),
            StatusCode.InvalidArgument,
            "The 'qlik-commonrequestheader-bin' header is not valid base64, as a binary (-bin) header must be, or it "
            + "was sent more than once.");
    }

    [Fact]
    public async Task Absurd_header_values_are_refused_or_survived()
    {
        var answer = await UnharmedAsync(
            () => Client.ExecuteAsync(Headers(5, cardinality: long.MaxValue), [Bundle([Numeric(1, 2)])]));
        Assert.Equal([3], answer.Numbers());
        answer = await UnharmedAsync(() => Client.ExecuteAsync(Headers(5, cardinality: -5), [Bundle([Numeric(1, 2)])]));
        Assert.Equal([3], answer.Numbers());

        await RefusedAsync(
            () => Client.ExecuteAsync(int.MinValue, Bundle([Numeric(1)])), StatusCode.NotFound,
            $"Function id {int.MinValue} is not a function of this plugin");
        await RefusedAsync(
            () => Client.EvaluateAsync("args[0]", (SseFunctionType)99, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1)])),
            StatusCode.InvalidArgument,
            "The script header has function type 99 and return type Numeric; one of them is unknown.");
        await RefusedAsync(
            () => Client.EvaluateAsync("args[0]", SseFunctionType.Tensor, (SseDataType)42, OneNumber,
            Bundle([Numeric(1)])),
            StatusCode.InvalidArgument,
            "The script header has function type Tensor and return type 42; one of them is unknown.");
        await RefusedAsync(
            () => Client.EvaluateAsync(
                "args[0]", SseFunctionType.Tensor, SseDataType.Numeric, [("x", (SseDataType)7)], Bundle([Numeric(1)])),
            StatusCode.InvalidArgument,
            "The script header gives parameter 'x' the data type 7; Qlik's are 0 (string), 1 (numeric) and 2 (dual).");
    }

    [Fact]
    public async Task Rows_of_the_wrong_width_are_refused_for_scripts_too()
    {
        await RefusedAsync(
            () => Client.EvaluateAsync(
                "args[0]", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(1, 2)])),
            StatusCode.InvalidArgument,
            "ScriptEval: row 2 holds 2 values but the function takes 1");
        await RefusedAsync(
            () => Client.EvaluateAsync(
                "args[0]", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1, 2, 3)])),
            StatusCode.InvalidArgument,
            "ScriptEval: row 1 holds 3 values but the function takes 1");
    }

    [Fact]
    public async Task NaN_infinities_and_extremes_round_trip()
    {
        double[][] rows = [
            [double.NaN, 1], [double.PositiveInfinity, 1], [double.NegativeInfinity, 1],
            [double.MaxValue, double.MaxValue], [double.Epsilon, 0], [double.MinValue, 0]];
        var bundle = Bundle(rows.Select(r => Numeric(r)));

        var sums = await UnharmedAsync(() => Client.ExecuteAsync(5, bundle));
        var echoes = await UnharmedAsync(
            () => Client.EvaluateAsync(
                "args[0]", SseFunctionType.Tensor, SseDataType.Numeric,
                [("a", SseDataType.Numeric), ("b", SseDataType.Numeric)],
                bundle));

        Assert.Equal(
            rows.Select(r => BitConverter.DoubleToInt64Bits(r[0] + r[1])),
            sums.Numbers().Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(
            rows.Select(r => BitConverter.DoubleToInt64Bits(r[0])),
            echoes.Numbers().Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public async Task Invalid_utf8_becomes_replacement_characters_in_its_own_value_only()
    {
        var body = RawCalls.TextRows(
            "abc"u8.ToArray(), [0x61, 0xFF, 0x62], [0xED, 0xA0, 0x80], [0xC0, 0xAF], "xyz"u8.ToArray());
        string[] expected = ["abc", "a\uFFFDb", "\uFFFD\uFFFD\uFFFD", "\uFFFD\uFFFD", "xyz"];

        var echoed = await UnharmedAsync(() => Raw.SendAsync(RawCalls.ExecuteFunction, Headers(0), body));
        var scripted = await UnharmedAsync(
            () => Raw.SendAsync(
                RawCalls.EvaluateScript, ScriptHeaders("args[0]", SseFunctionType.Tensor, SseDataType.String,
                    OneString),
                body));

        Assert.Equal(expected, echoed.Strings());
        Assert.Equal(expected, scripted.Strings());
    }

    [Fact]
    public async Task Cancelling_mid_stream_fires_the_functions_token()
    {
        var probe = TestFunctions.Watch();
        using var cts = new CancellationTokenSource();
        using var call = Client.Connector.ExecuteFunction(Headers(112, probe.AppId), cancellationToken: cts.Token);
        await call.RequestStream.WriteAsync(Bundle([Numeric(1), Numeric(2)]).Message);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));

        await cts.CancelAsync();

        var error = await FailsAsync(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.True(await probe.Ended.Task.WaitAsync(CallTimeout), "The function ended without its token fired.");
        await Client.AssertServesAsync();
    }

    [Fact]
    public async Task A_client_that_vanishes_mid_stream_ends_its_call()
    {
        var probe = TestFunctions.Watch();

        await UnharmedAsync(async () =>
        {
            await VanishMidStreamAsync(
                host.Host.Addresses[0], Headers(112, probe.AppId), Bundle([Numeric(1), Numeric(2)]));
            Assert.True(await probe.Ended.Task.WaitAsync(CallTimeout), "The function ended without its token fired.");
            return true;
        });
    }

    [Fact]
    public async Task Calls_over_MaxConcurrentCalls_are_resource_exhausted_until_a_slot_frees()
    {
        await using var limited = await TestHost.StartAsync("--SsePlugin:MaxConcurrentCalls", "2");
        using var first = await OpenCall.StartAsync(limited.Client);
        using var second = await OpenCall.StartAsync(limited.Client);

        var error = await FailsAsync(() => limited.Client.ExecuteAsync(5, Bundle([Numeric(1, 2)])));
        var scriptError = await FailsAsync(
            () => limited.Client.EvaluateAsync(
                "args[0]", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));
        var capabilities = await limited.Client.GetCapabilitiesAsync();

        Assert.Equal(
            (StatusCode.ResourceExhausted, StatusCode.ResourceExhausted), (error.StatusCode, scriptError.StatusCode));
        Assert.Equal(
            "The plugin is already running 2 calls, the most SsePlugin:MaxConcurrentCalls allows, so this call was "
            + "refused. Retry when fewer calls run, or raise SsePlugin:MaxConcurrentCalls (0 = no limit) if the "
            + "machine has memory and CPU to spare.",
            error.Status.Detail);
        Assert.NotEmpty(capabilities.Functions);

        // A finished call and a vanished client each give their slot back.
        await first.FinishAsync();
        await limited.Client.AssertServesAsync();
        await VanishMidStreamAsync(limited.Addresses[0], Headers(112), Bundle([Numeric(1)]));
        await WaitUntilAsync(async () => await TryCallAsync(limited.Client));
        await second.FinishAsync();
    }

    [Fact]
    public async Task Ten_megabyte_strings_are_read_whole_and_never_echoed_into_an_error()
    {
        var huge = new string('x', 10_000_000);

        await WithinMemoryBaselineAsync(async client =>
        {
            var lengths = await client.ExecuteAsync(501, Bundle([Text(huge), Text("ab")]));
            var scripted = await client.EvaluateAsync(
                "args[0].length", SseFunctionType.Tensor, SseDataType.Numeric, OneString,
                Bundle([Text(huge), Text("ab")]));
            var error = await FailsAsync(() => client.ExecuteAsync(5, Bundle([TextAndNumber(huge, 1)])));

            Assert.Equal([10_000_000, 2], lengths.Numbers());
            Assert.Equal([10_000_000, 2], scripted.Numbers());
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Equal(
                $"SumOfRows: parameter 'col1' is numeric but row 1 holds the text '{new string('x', 40)}…'. Pass a "
                + "number, e.g. Num(...) in Qlik.",
                error.Status.Detail);
        });
    }

    [Fact]
    public async Task An_answer_row_Qlik_could_not_receive_is_resource_exhausted_and_smaller_ones_pass()
    {
        // The clients here receive at most 4 MiB a message, as Qlik's engine does.
        var justUnder = new string('y', 4_000_000);
        var over = new string('z', 5_000_000);

        var echoed = await Client.ExecuteAsync(0, Bundle([Text(justUnder)]));
        var error = await RefusedAsync(
            () => Client.ExecuteAsync(0, Bundle([Text("first")]), Bundle([Text(over)])), StatusCode.ResourceExhausted,
            "HelloWorld: row 2 ");

        Assert.Equal([justUnder], echoed.Strings());
        Assert.Equal(
            "HelloWorld: row 2 of the answer takes 5000015 bytes, more than the 4 MiB (4194304 bytes) Qlik's engine "
            + "accepts in one message, and a row cannot be split. Return shorter texts.",
            error.Status.Detail);
    }

    [Fact]
    public async Task A_row_of_ten_thousand_values_is_refused_and_a_wider_one_is_not_read()
    {
        await WithinMemoryBaselineAsync(async client =>
        {
            var wide = await FailsAsync(
                () =>
                    client.ExecuteAsync(5, Bundle([Numeric([.. Enumerable.Range(0, 10_000).Select(i => (double)i)])])));
            var wider = await FailsAsync(() => client.ExecuteAsync(5, Bundle([Numeric(new double[1_000_000])])));

            Assert.Equal((StatusCode.InvalidArgument, StatusCode.InvalidArgument), (wide.StatusCode, wider.StatusCode));
            Assert.StartsWith(
                "SumOfRows: row 1 holds 10000 values but the function takes 2", wide.Status.Detail,
                StringComparison.Ordinal);
            Assert.Equal(
                "SumOfRows: A row holds more than 10000 values; Qlik sends one value per parameter.",
                wider.Status.Detail);
        });
    }

    [Fact]
    public async Task A_message_over_the_limit_is_resource_exhausted_and_names_the_setting()
    {
        await WithinMemoryBaselineAsync(async client =>
        {
            var error = await FailsAsync(
                () => child.Host.Channel.CreateCallInvoker().SendAsync(
                    RawCalls.ExecuteFunction, Headers(5), new byte[(64 * 1024 * 1024) + 1]));

            Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
            Assert.Equal(
                "SumOfRows: a request message is larger than the 67108864 bytes SsePlugin:MaxReceiveMessageBytes "
                + "allows. Qlik's engine sends far smaller bundles of rows; raise the setting only if a client must "
                + "send larger ones.",
                error.Status.Detail);
        });
    }

    [Fact]
    public async Task A_client_that_vanishes_mid_stream_leaves_nothing_behind()
    {
        var bundle = Bundle(Enumerable.Range(0, 2000).Select(i => Numeric(i, i)));

        await WithinMemoryBaselineAsync(async _ =>
        {
            for (var i = 0; i < 8; i++)
            {
                await VanishMidStreamAsync(new Uri(child.Host.Address), Headers(5), bundle);
            }
        });
    }

    [Fact]
    public async Task Sixty_four_streams_of_100k_rows_are_all_answered_correctly()
    {
        const int Rows = 100_000;
        var bundles = Enumerable.Range(0, Rows / 2000).Select(
            b => Bundle(Enumerable.Range(b * 2000, 2000).Select(i => Numeric(i, 2d * i)))).ToArray();

        await WithinMemoryBaselineAsync(async client =>
        {
            var wrong = await Task.WhenAll(
                Enumerable.Range(0, 64).Select(_ => Task.Run(() => StreamAsync(client, bundles, Rows))));

            Assert.All(wrong, w => Assert.Equal(0, w));
        });
    }

    public void Dispose() => _client.Dispose();

    private async Task<SseAnswer> RefusedAsync(Func<Task<SseAnswer>> hostile, StatusCode status, string detail)
    {
        var answer = await UnharmedAsync(() => FailsAsync(hostile));
        Assert.Equal(status, answer.StatusCode);
        Assert.Contains(detail, answer.Status.Detail, StringComparison.Ordinal);
        return answer;
    }

    private async Task<RpcException> RefusedAsync(Func<Task> hostile, StatusCode status, string detail)
    {
        var error = await UnharmedAsync(() => FailsAsync(hostile));
        Assert.Equal(status, error.StatusCode);
        Assert.Contains(detail, error.Status.Detail, StringComparison.Ordinal);
        return error;
    }

    /// <summary>
    /// Runs a hostile call while a normal one is open on the same connection; both must end well, and the host serve
    /// on.
    /// </summary>
    private Task<T> UnharmedAsync<T>(Func<Task<T>> hostile) => UnharmedAsync(Client, hostile);

    private static async Task<T> UnharmedAsync<T>(SseClient client, Func<Task<T>> hostile)
    {
        using var bystander = await OpenCall.StartAsync(client);
        var result = await hostile();
        await bystander.FinishAsync();
        await client.AssertServesAsync();
        Assert.NotEmpty((await client.GetCapabilitiesAsync()).Functions);
        return result;
    }

    /// <summary>Runs a heavy case against the child host; its memory must come back near where it was.</summary>
    private async Task WithinMemoryBaselineAsync(Func<SseClient, Task> heavy)
    {
        var client = child.Host.Client;
        var before = await child.Host.SettledMemoryAsync();
        await UnharmedAsync(client, async () =>
        {
            await heavy(client);
            return true;
        });
        var after = await child.Host.SettledMemoryAsync();
        Assert.InRange(after - before, long.MinValue, MemoryMargin);
    }

    /// <summary>
    /// Starts a call, sees it answer its first rows, then drops the client's connection without ending the call.
    /// </summary>
    private static async Task VanishMidStreamAsync(Uri address, Metadata headers, SseBundle rows)
    {
        var handler = new SocketsHttpHandler();
        using var client = new SseClient(address, handler);
        var call = client.Connector.ExecuteFunction(headers);
        await call.RequestStream.WriteAsync(rows.Message);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        handler.Dispose();
    }

    /// <summary>
    /// Streams the bundles through SumOfRows while reading the answer; returns how many answers were wrong.
    /// </summary>
    private static async Task<int> StreamAsync(SseClient client, SseBundle[] bundles, int rows)
    {
        using var timeout = new CancellationTokenSource(CallTimeout);
        using var call = client.Connector.ExecuteFunction(Headers(5, cardinality: rows),
            cancellationToken: timeout.Token);
        var writing = Task.Run(async () =>
        {
            foreach (var bundle in bundles)
            {
                await call.RequestStream.WriteAsync(bundle.Message);
            }

            await call.RequestStream.CompleteAsync();
        });
        var (row, wrong) = (0, 0);
        await foreach (var bundle in call.ResponseStream.ReadAllAsync(timeout.Token))
        {
            foreach (var answer in bundle.Rows)
            {
                wrong += answer.Duals[0].NumData == 3d * row++ ? 0 : 1;
            }
        }

        await writing;
        return wrong + Math.Abs(rows - row);
    }

    private static async Task<bool> TryCallAsync(SseClient client)
    {
        try
        {
            await client.AssertServesAsync();
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(CallTimeout);
        while (!await condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    private static Metadata With(Metadata headers, string key, byte[] value) =>
        [.. Without(headers, key), new Metadata.Entry(key, value)];

    private static Metadata Without(Metadata headers, string key) => [.. headers.Where(e => e.Key != key)];

    /// <summary>The host in a process of its own, for the heavy cases.</summary>
    public sealed class ChildHostFixture : IAsyncLifetime
    {
        private ChildHost? _host;

        public ChildHost Host => _host!;

        public async Task InitializeAsync()
        {
            _host = await ChildHost.StartAsync("--Serilog:MinimumLevel:Default", "Warning");

            // The baseline is a host that has served a function and a script: first use sets up the script engine.
            await _host.Client.EvaluateAsync(
                "args[0]", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));
            await _host.Client.AssertServesAsync();
        }

        public async Task DisposeAsync()
        {
            if (_host is not null)
            {
                await _host.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A SumOfRows call held open: one bundle sent and answered, the rest sent on <see cref="FinishAsync"/>.
    /// </summary>
    private sealed class OpenCall(
        AsyncDuplexStreamingCall<BundledRows, BundledRows> call, CancellationTokenSource timeout) : IDisposable
    {
        public static async Task<OpenCall> StartAsync(SseClient client)
        {
            var timeout = new CancellationTokenSource(CallTimeout);
            var call = client.Connector.ExecuteFunction(Headers(5), cancellationToken: timeout.Token);
            await call.RequestStream.WriteAsync(Bundle([Numeric(1, 2), Numeric(3, 4)]).Message);
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal([3, 7], call.ResponseStream.Current.Rows.Select(r => r.Duals[0].NumData));
            return new OpenCall(call, timeout);
        }

        public async Task FinishAsync()
        {
            await call.RequestStream.WriteAsync(Bundle([Numeric(5, 6)]).Message);
            await call.RequestStream.CompleteAsync();
            var rest = await QlikCalls.ReadAllAsync(call, timeout.Token);
            Assert.Equal([11], rest.Numbers());
        }

        public void Dispose()
        {
            call.Dispose();
            timeout.Dispose();
        }
    }

    /// <summary>Adds a header value as it is, bypassing the gRPC client's base64 encoding of binary headers.</summary>
    [Fact]
    public async Task A_script_that_keeps_memory_from_row_to_row_until_the_heap_limit_fails_its_call_alone()
    {
        // The host's heap is capped, as HeapHardLimitPercent caps it on a large machine: 2 MB kept per row reach it.
        await using var host = await ChildHost.StartAsync(
            new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x10000000" });
        var rows = Enumerable.Range(0, 400).Select(i => Numeric(i));

        var error = await FailsAsync(() => host.Client.EvaluateAsync(
            "var kept = typeof kept === 'undefined' ? [] : kept; kept.push('x'.repeat(1e6) + args[0]); kept.length",
            SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle(rows)));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("the host ran out of memory while the script ran", error.Status.Detail);
        await host.Client.AssertServesAsync();
    }

    private sealed class HeaderTampering(string key, string value) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(
            HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.TryAddWithoutValidation(key, value);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
