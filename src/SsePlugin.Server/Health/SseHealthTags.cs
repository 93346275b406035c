namespace SsePlugin.Server.Health;

/// <summary>
/// The tags that tell the SSE server's gRPC health service (<c>grpc.health.v1.Health</c>) what an ASP.NET Core health
/// check decides. A check tagged with a script engine's name (<see cref="JavaScript"/>, <see cref="R"/>) decides the
/// health of the connections that run scripts in that engine, and the overall health (service <c>""</c>); a check
/// also tagged <see cref="Detail"/> is reported only as its own service; a check with neither counts for every
/// service. Every check is also a service of its own, by its name.
/// </summary>
public static class SseHealthTags
{
    /// <summary>Marks a check reported only under its own name, e.g. one Rserve address among several.</summary>
    public const string Detail = "detail";

    /// <summary>The JavaScript engine's name, the tag of its checks.</summary>
    public const string JavaScript = "javascript";

    /// <summary>The R engine's name, the tag of its checks.</summary>
    public const string R = "r";

    /// <summary>The Python engine's name, the tag of its checks.</summary>
    public const string Python = "python";
}
