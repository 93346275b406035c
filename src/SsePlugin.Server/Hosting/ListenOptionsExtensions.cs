using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace SsePlugin.Server.Hosting;

/// <summary>Ties a Kestrel endpoint to an analytic connection.</summary>
public static class ListenOptionsExtensions
{
    /// <summary>
    /// Serves <paramref name="connection"/> on this endpoint: calls arriving here see its functions and script engine.
    /// </summary>
    /// <param name="listen">The endpoint.</param>
    /// <param name="connection">The analytic connection.</param>
    /// <returns>The same endpoint, for chaining.</returns>
    public static ListenOptions UseAnalyticConnection(this ListenOptions listen, AnalyticConnection connection)
    {
        listen.Use(next => context =>
        {
            context.Items[typeof(AnalyticConnection)] = connection;
            return next(context);
        });
        return listen;
    }
}
