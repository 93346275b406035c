using Xunit;
using static SsePlugin.InteropTests.Dual;

namespace SsePlugin.InteropTests;

/// <summary>The host started with <c>--allow-script false</c>.</summary>
public sealed class ScriptsOffFixture() : InteropFixture("--allow-script", "false");

/// <summary>With scripts switched off, GetCapabilities tells Qlik so and every script call is refused.</summary>
public sealed class ScriptsOffInteropTests(ScriptsOffFixture plugin) : IClassFixture<ScriptsOffFixture>
{
    [Fact]
    public Task GetCapabilities_says_scripts_are_not_allowed_and_still_lists_the_functions() =>
        plugin.CallAsync(Call.GetCapabilities(), result =>
        {
            var capabilities = result.Ok().Capabilities!;
            Assert.False(capabilities.AllowScript);
            Assert.Equal(8, capabilities.Functions.Length);
        });

    [Fact]
    public Task EvaluateScript_is_PERMISSION_DENIED_and_says_scripts_are_disabled() =>
        plugin.ExpectFailureAsync(
            Call.EvaluateScript("args[0] * 2", "SCALAR", "NUMERIC", [new("a", "NUMERIC")], [[N(1)]]),
            "PERMISSION_DENIED",
            "disabled",
            "ScriptEval");
}
