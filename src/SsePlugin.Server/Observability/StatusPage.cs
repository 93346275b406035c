using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace SsePlugin.Server.Observability;

/// <summary>
/// The status page's files, built into the assembly (Qlik servers are often offline: no CDN): the page, its script
/// and style, and uPlot (MIT, github.com/leeoniya/uPlot) with its licence.
/// </summary>
internal static class StatusPage
{
    private const string Prefix = "SsePlugin.Status.";

    private static readonly FrozenDictionary<string, (byte[] Content, string Type)> Files = typeof(StatusPage).Assembly
        .GetManifestResourceNames()
        .Where(name => name.StartsWith(Prefix, StringComparison.Ordinal))
        .ToFrozenDictionary(name => name[Prefix.Length..], name => (Read(name), TypeOf(name)));

    /// <summary>Writes the file the route names, <c>index.html</c> for <c>/</c>; 404 for any other.</summary>
    public static Task WriteAsync(HttpContext context)
    {
        var name = context.Request.RouteValues["file"] as string ?? "index.html";
        if (!Files.TryGetValue(name, out var file))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        context.Response.ContentType = file.Type;
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.Headers.ContentSecurityPolicy =
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";
        return context.Response.Body.WriteAsync(file.Content).AsTask();
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(StatusPage).Assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string TypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
}
