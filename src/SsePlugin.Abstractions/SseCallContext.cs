namespace SsePlugin;

/// <summary>What a function may learn about the call it serves, and how it may shape the answer.</summary>
/// <remarks>Add a parameter of this type to any function to receive it.</remarks>
public sealed class SseCallContext
{
    private int _cacheDisabled;

    /// <summary>Creates a call context.</summary>
    /// <param name="appId">The Qlik app the call comes from.</param>
    /// <param name="userId">The Qlik user the call comes from.</param>
    /// <param name="cardinality">The number of rows Qlik announced.</param>
    /// <param name="cancellationToken">Cancelled when Qlik abandons the call or the host stops.</param>
    public SseCallContext(string appId, string userId, long cardinality, CancellationToken cancellationToken)
    {
        AppId = appId;
        UserId = userId;
        Cardinality = cardinality;
        CancellationToken = cancellationToken;
    }

    /// <summary>Gets the id of the Qlik app the call comes from.</summary>
    public string AppId { get; }

    /// <summary>Gets the Qlik user the call comes from, e.g. <c>UserDirectory=X; UserId=Y</c>.</summary>
    public string UserId { get; }

    /// <summary>Gets the number of rows Qlik announced for this call (0 when it did not say).</summary>
    public long Cardinality { get; }

    /// <summary>Gets the token that is cancelled when Qlik abandons the call or the host stops.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Gets whether this answer will tell Qlik not to cache it.</summary>
    public bool IsCacheDisabled => Volatile.Read(ref _cacheDisabled) != 0;

    /// <summary>Tells Qlik not to cache this answer (<c>qlik-cache: no-store</c>).</summary>
    public void DisableCache() => Volatile.Write(ref _cacheDisabled, 1);
}
