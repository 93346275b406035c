using Qlik.Sse;

namespace SsePlugin.Client;

/// <summary>A function a plugin offers, as <c>GetCapabilities</c> describes it.</summary>
/// <param name="Id">The function's id.</param>
/// <param name="Name">Its name, as Qlik authors call it.</param>
/// <param name="FunctionType">Scalar, aggregation or tensor.</param>
/// <param name="ReturnType">What it answers.</param>
/// <param name="Parameters">Its parameters, in order.</param>
public sealed record SseFunctionDefinition(
    int Id,
    string Name,
    SseFunctionType FunctionType,
    SseDataType ReturnType,
    IReadOnlyList<SseParameter> Parameters);

/// <summary>What a plugin answers to <c>GetCapabilities</c>, the handshake Qlik's engine starts with.</summary>
/// <param name="PluginIdentifier">The plugin's name.</param>
/// <param name="PluginVersion">The plugin's version.</param>
/// <param name="AllowScript">Whether the plugin runs Qlik's script functions.</param>
/// <param name="Functions">The functions it offers.</param>
public sealed record SseCapabilities(
    string PluginIdentifier, string PluginVersion, bool AllowScript, IReadOnlyList<SseFunctionDefinition> Functions)
{
    /// <summary>Finds a function by its name.</summary>
    /// <param name="name">The name, e.g. <c>SumOfRows</c>.</param>
    /// <returns>The function.</returns>
    /// <exception cref="KeyNotFoundException">The plugin offers no function of that name.</exception>
    public SseFunctionDefinition this[string name] =>
        Functions.FirstOrDefault(f => f.Name == name)
        ?? throw new KeyNotFoundException(
            $"The plugin '{PluginIdentifier}' offers no function '{name}'; it offers "
            + $"{string.Join(", ", Functions.Select(f => f.Name))}.");

    internal static SseCapabilities From(Capabilities capabilities) => new(
        capabilities.PluginIdentifier,
        capabilities.PluginVersion,
        capabilities.AllowScript,
        [.. capabilities.Functions.Select(f => new SseFunctionDefinition(
            f.FunctionId,
            f.Name,
            (SseFunctionType)f.FunctionType,
            (SseDataType)f.ReturnType,
            [.. f.Params.Select(p => new SseParameter(p.Name, (SseDataType)p.DataType))]))]);
}
