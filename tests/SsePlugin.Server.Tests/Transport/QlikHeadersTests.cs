using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Qlik.Sse;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;
using SsePlugin.Server.Transport;

namespace SsePlugin.Server.Tests.Transport;

/// <summary>Qlik's binary request headers, read from a request's header dictionary.</summary>
public sealed class QlikHeadersTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_function_header_is_read_from_base64_with_or_without_its_padding(bool padded)
    {
        // Function id 7 serializes to two bytes: base64 "CAc=", which C-core clients send as "CAc".
        var text = Convert.ToBase64String(new FunctionRequestHeader { FunctionId = 7, Version = "1" }.ToByteArray());
        Assert.EndsWith("=", text, StringComparison.Ordinal);
        var headers = Headers(QlikProtocol.FunctionHeader, padded ? text : text.TrimEnd('='));

        var header = QlikHeaders.ReadFunction(headers);

        Assert.Equal((7, "1"), (header.FunctionId, header.Version));
    }

    [Fact]
    public void The_common_header_gives_app_user_and_cardinality()
    {
        var common = new CommonRequestHeader { AppId = "app", UserId = "UserDirectory=X; UserId=Y", Cardinality = 42 };
        var headers = Headers(QlikProtocol.CommonHeader, Convert.ToBase64String(common.ToByteArray()));

        Assert.Equal(common, QlikHeaders.ReadCommon(headers));
    }

    [Fact]
    public void A_call_without_a_common_header_comes_from_an_unnamed_app_and_user()
    {
        var common = QlikHeaders.ReadCommon(new HeaderDictionary());

        Assert.Same(QlikHeaders.NoCommon, common);
        Assert.Equal((string.Empty, string.Empty, 0L), (common.AppId, common.UserId, common.Cardinality));
    }

    [Fact]
    public void A_missing_function_header_is_invalid_input_naming_it()
    {
        var error = Assert.Throws<CallFailure>(() => QlikHeaders.ReadFunction(new HeaderDictionary()));

        Assert.Equal(CallFailureKind.InvalidInput, error.Kind);
        Assert.Equal(
            "The call carries no 'qlik-functionrequestheader-bin' header; Qlik's engine always sends it. "
            + "Check the client.",
            error.Message);
    }

    [Fact]
    public void A_header_sent_twice_is_refused_even_when_one_value_is_empty()
    {
        // Function id 0 serializes to no bytes at all: an empty value.
        var headers = new HeaderDictionary { [QlikProtocol.FunctionHeader] = new StringValues(["", "CAc"]) };

        var error = Assert.Throws<CallFailure>(() => QlikHeaders.ReadFunction(headers));

        Assert.Equal(
            "The 'qlik-functionrequestheader-bin' header was sent more than once; Qlik's engine sends it once. "
            + "Check the client.",
            error.Message);
    }

    [Theory]
    [InlineData("CAc,CAc")]
    [InlineData("C")]
    [InlineData("not base64!")]
    public void A_header_that_is_not_base64_is_invalid_input(string value)
    {
        var headers = Headers(QlikProtocol.FunctionHeader, value);

        var error = Assert.Throws<CallFailure>(() => QlikHeaders.ReadFunction(headers));

        Assert.Equal(CallFailureKind.InvalidInput, error.Kind);
        Assert.StartsWith(
            "The 'qlik-functionrequestheader-bin' header is not valid base64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_that_is_not_the_protobuf_message_says_which_message_it_should_be()
    {
        var headers = Headers(QlikProtocol.FunctionHeader, Convert.ToBase64String([0x08, 0x80]));

        var error = Assert.Throws<CallFailure>(() => QlikHeaders.ReadFunction(headers));

        Assert.Equal(CallFailureKind.InvalidInput, error.Kind);
        Assert.StartsWith(
            "The 'qlik-functionrequestheader-bin' header could not be read as a FunctionRequestHeader: ",
            error.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void A_script_header_becomes_the_script_to_run_with_named_parameters()
    {
        var script = new ScriptRequestHeader
        {
            Script = "args[0] * 2",
            FunctionType = FunctionType.Tensor,
            ReturnType = DataType.Numeric,
            Params = { new Parameter { Name = "", DataType = DataType.Numeric }, new Parameter { Name = "b" } },
        };
        var headers = Headers(QlikProtocol.ScriptHeader, Convert.ToBase64String(script.ToByteArray()));

        var definition = QlikHeaders.ReadScript(headers);

        Assert.Equal("args[0] * 2", definition.Script);
        Assert.Equal((SseFunctionType.Tensor, SseDataType.Numeric), (definition.FunctionType, definition.ReturnType));
        Assert.Equal(["arg0", "b"], definition.Parameters.Select(p => p.Name));
        Assert.Equal([SseDataType.Numeric, SseDataType.String], definition.Parameters.Select(p => p.DataType));
    }

    [Fact]
    public void A_script_parameter_of_an_unknown_data_type_is_invalid_input()
    {
        var script = new ScriptRequestHeader { Params = { new Parameter { Name = "x", DataType = (DataType)9 } } };
        var headers = Headers(QlikProtocol.ScriptHeader, Convert.ToBase64String(script.ToByteArray()));

        var error = Assert.Throws<CallFailure>(() => QlikHeaders.ReadScript(headers));

        Assert.Equal(
            "The script header gives parameter 'x' the data type 9; Qlik's are 0 (string), 1 (numeric) and 2 (dual).",
            error.Message);
    }

    private static HeaderDictionary Headers(string key, string value) => new() { [key] = value };
}
