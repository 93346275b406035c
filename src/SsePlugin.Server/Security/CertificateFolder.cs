using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SsePlugin.Server.Observability;

namespace SsePlugin.Server.Security;

/// <summary>
/// The certificates of one side of the connection, read from a folder with Qlik's file names and checked file by
/// file: the root (<c>root_cert.pem</c>) and this side's certificate with its private key. The other side is trusted
/// only when its certificate chains to this root; the machine's certificate store plays no part.
/// </summary>
public sealed partial class CertificateFolder
{
    private const string RsaAlgorithm = "1.2.840.113549.1.1.1";
    private const string EcAlgorithm = "1.2.840.10045.2.1";

    // Set on a connection once its TLS handshake has completed.
    private static readonly object HandshakeCompleted = new();

    private CertificateFolder(
        string directory, CertificateSide side, X509Certificate2 root, X509Certificate2 certificate)
    {
        Directory = directory;
        Side = side;
        Root = root;
        Certificate = certificate;
    }

    /// <summary>Gets the folder's full path.</summary>
    public string Directory { get; }

    /// <summary>Gets whose files these are.</summary>
    public CertificateSide Side { get; }

    /// <summary>Gets the root certificate (<c>root_cert.pem</c>), the only one the other side's certificate may chain
    /// to.</summary>
    public X509Certificate2 Root { get; }

    /// <summary>Gets this side's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Loads the plugin's folder: <c>root_cert.pem</c>, <c>sse_server_cert.pem</c>,
    /// <c>sse_server_key.pem</c>.</summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The checked certificates.</returns>
    /// <exception cref="CertificateFolderException">A file is missing, unreadable, not PEM, expired or not yet valid,
    /// the key does not match, or the certificate is not issued by the root.</exception>
    public static CertificateFolder Load(string directory) => Load(directory, CertificateSide.Plugin);

    /// <summary>Loads one side's folder, checking every file and reporting every problem at once.</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="side">Whose file names to expect.</param>
    /// <returns>The checked certificates.</returns>
    /// <exception cref="CertificateFolderException">A file is missing, unreadable, not PEM, expired or not yet valid,
    /// the key does not match, or the certificate is not issued by the root.</exception>
    public static CertificateFolder Load(string directory, CertificateSide side)
    {
        var folder = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(folder))
        {
            throw new CertificateFolderException(folder, ["the folder does not exist."]);
        }

        var problems = new List<string>();
        var root = ReadCertificate(folder, CertificateSide.RootFile, side, problems);
        var certificate = ReadCertificate(folder, side.CertificateFile, side, problems);
        var key = ReadText(folder, side.KeyFile, side, problems);
        if (root is not null && CheckDates(root, CertificateSide.RootFile, problems)
            && !root.SubjectName.RawData.AsSpan().SequenceEqual(root.IssuerName.RawData))
        {
            problems.Add($"{CertificateSide.RootFile}: holds {root.Subject}, which is issued by {root.Issuer}: "
                + "not a root certificate.");
        }

        if (certificate is not null && CheckDates(certificate, side.CertificateFile, problems) && root is not null
            && ChainProblem(root, certificate, side.Usage) is { } chainProblem)
        {
            problems.Add($"{side.CertificateFile}: {chainProblem}");
        }

        var withKey = certificate is not null && key is not null ? AddKey(certificate, key, side, problems) : null;
        if (problems.Count > 0)
        {
            throw new CertificateFolderException(folder, problems);
        }

        return new CertificateFolder(folder, side, root!, withKey!);
    }

    /// <summary>Checks a certificate the other side presented: it must chain to this root alone and allow the other
    /// side's usage.</summary>
    /// <param name="certificate">The other side's certificate.</param>
    /// <param name="host">The name the client connected to, checked against a server certificate's names; null for a
    /// client certificate.</param>
    /// <returns>What is wrong with it, as words that follow the certificate's name; null when it is trusted.</returns>
    public string? CheckPeer(X509Certificate2 certificate, string? host = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (ChainProblem(Root, certificate, Side.Other.Usage) is { } problem)
        {
            return problem;
        }

        return host is null || certificate.MatchesHostname(host)
            ? null
            : $"is for {string.Join(", ", HostNames(certificate).DefaultIfEmpty(certificate.Subject))}, "
                + $"not for {host}.";
    }

    /// <summary>Makes the endpoint TLS-only: presents this folder's server certificate and requires a client
    /// certificate that chains to its root.</summary>
    /// <param name="listen">The endpoint.</param>
    public void UseFor(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        if (Side != CertificateSide.Plugin)
        {
            throw new InvalidOperationException(
                $"{Directory} holds {Side.Name}'s certificate; the host serves with "
                    + $"{CertificateSide.Plugin.CertificateFile}.");
        }

        var logger = listen.ApplicationServices.GetRequiredService<ILogger<CertificateFolder>>();
        var failures = new FailureLogLimit<string>(
            (count, kinds) => Log.FailuresCounted(logger, count, kinds, FailureLogLimit.LinesPerSecond));
        bool Logs(string failure) => logger.IsEnabled(LogLevel.Warning) && failures.TryLog(failure);

        // Around the handshake: a connection that ends without one is logged with its peer, so that an administrator
        // sees a client that cannot connect (a refused certificate is also logged with the reason, below). Past a few
        // a second they are only counted, so that a client failing handshakes by the thousand cannot flood the log.
        listen.Use(next => async context =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                if (!context.Items.ContainsKey(HandshakeCompleted))
                {
                    SseMeter.TlsHandshakesRefused.Add(1);
                    if (Logs("no handshake"))
                    {
                        Log.HandshakeFailed(logger, context.RemoteEndPoint?.ToString() ?? "an unknown address");
                    }
                }
            }
        });
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = Certificate,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = (certificate, _, _) =>
            {
                var problem = CheckPeer(certificate);
                if (problem is not null && Logs("refused certificate"))
                {
                    Log.ClientCertificateRefused(logger, certificate.Subject, problem);
                }

                return problem is null;
            },
        });
        listen.Use(next => context =>
        {
            context.Items[HandshakeCompleted] = true;
            // Kestrel refuses a TLS client that did not offer HTTP/2 (ALPN "h2") in a line that names no peer.
            if (!context.Features.Get<ITlsApplicationProtocolFeature>()!.ApplicationProtocol.Span.SequenceEqual("h2"u8)
                && Logs("no HTTP/2"))
            {
                Log.NoHttp2(logger, context.RemoteEndPoint?.ToString() ?? "an unknown address");
            }

            return next(context);
        });
    }

    /// <summary>The TLS options of a client connecting as the Qlik engine does: it presents this folder's certificate
    /// and trusts a server whose certificate chains to this root and names <paramref name="host"/>.</summary>
    /// <param name="host">The name the client connects to.</param>
    /// <returns>Options for <see cref="SslStream"/> or <see cref="SocketsHttpHandler.SslOptions"/>.</returns>
    public SslClientAuthenticationOptions ClientOptions(string host) => new()
    {
        TargetHost = host,
        ClientCertificateContext =
            SslStreamCertificateContext.Create(Certificate, additionalCertificates: null, offline: true),
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is X509Certificate2 server && CheckPeer(server, host) is null,
    };

    /// <summary>The host names and addresses a certificate is for (its subject alternative names).</summary>
    /// <param name="certificate">The certificate.</param>
    /// <returns>The DNS names, then the IP addresses.</returns>
    public static IReadOnlyList<string> HostNames(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().ToList();
        return
        [
            .. names.SelectMany(n => n.EnumerateDnsNames()),
            .. names.SelectMany(n => n.EnumerateIPAddresses()).Select(a => a.ToString()),
        ];
    }

    private static string? ChainProblem(X509Certificate2 root, X509Certificate2 certificate, string usage)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usage));
        if (chain.Build(certificate))
        {
            return null;
        }

        var status = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        var purpose = usage == CertificateSide.Plugin.Usage ? "server" : "client";
        var untrusted = (status & (X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.UntrustedRoot)) != 0;
        return status switch
        {
            // The issuer's name is the root's, but the root's key did not sign it: another root of the same name.
            _ when untrusted && certificate.IssuerName.RawData.AsSpan().SequenceEqual(root.SubjectName.RawData) =>
                $"names {CertificateSide.RootFile} ({root.Subject}) as its issuer, but that root did not sign it: "
                + "it comes from another root of the same name (an impostor, or a second `certs generate` run); "
                + "both sides need files from the same run.",
            _ when untrusted =>
                $"is not issued by {CertificateSide.RootFile} ({root.Subject}) but by {certificate.Issuer}: "
                + "both sides need files from the same `certs generate` run.",
            _ when status.HasFlag(X509ChainStatusFlags.NotTimeValid) =>
                $"is outside its validity ({certificate.NotBefore.ToUniversalTime():u} "
                + $"to {certificate.NotAfter.ToUniversalTime():u}).",
            _ when status.HasFlag(X509ChainStatusFlags.NotValidForUsage) =>
                $"is not meant for TLS {purpose} authentication (its extended key usage).",
            _ => "is not trusted: "
                + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim())) + ".",
        };
    }

    private static string? ReadText(string folder, string file, CertificateSide side, List<string> problems)
    {
        var path = Path.Combine(folder, file);
        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            problems.Add($"{file}: not found. {MissingFileHint(folder, file, side)}".TrimEnd());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{file}: cannot be read: {e.Message}");
        }

        return null;
    }

    /// <summary>Points at what was probably meant: a look-alike name, the other side's files, or the sub-folder
    /// <c>certs generate</c> wrote.</summary>
    private static string MissingFileHint(string folder, string file, CertificateSide side)
    {
        var stem = file[..file.IndexOf('.', StringComparison.Ordinal)];
        var names = System.IO.Directory.EnumerateFiles(folder)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();
        if (names.FirstOrDefault(n => n.Split('.')[0].Equals(stem, StringComparison.OrdinalIgnoreCase))
            is { } lookalike)
        {
            return $"There is {lookalike}: rename it to {file}; Qlik and SsePlugin read these exact names.";
        }

        var others = side.Other.Files.Skip(1).Where(names.Contains).ToList();
        if (others.Count > 0)
        {
            return $"There is {string.Join(" and ", others)}, which belong to {side.Other.Name}: "
                + $"this is {side.Other.Name}'s folder; "
                + $"{side.Name} needs {string.Join(", ", side.Files)}.";
        }

        return File.Exists(Path.Combine(folder, side.Folder, file))
            ? $"It is in the sub-folder {side.Folder}: use {Path.Combine(folder, side.Folder)}."
            : string.Empty;
    }

    private static X509Certificate2? ReadCertificate(
        string folder, string file, CertificateSide side, List<string> problems)
    {
        var text = ReadText(folder, file, side, problems);
        try
        {
            return text is null ? null : X509Certificate2.CreateFromPem(text);
        }
        catch (CryptographicException e)
        {
            problems.Add($"{file}: holds no PEM certificate (-----BEGIN CERTIFICATE-----): {e.Message}");
            return null;
        }
    }

    private static bool CheckDates(X509Certificate2 certificate, string file, List<string> problems)
    {
        var now = DateTime.Now;
        if (now < certificate.NotBefore)
        {
            problems.Add(
                $"{file}: not valid before {certificate.NotBefore.ToUniversalTime():u}; check this machine's clock.");
            return false;
        }

        if (now > certificate.NotAfter)
        {
            problems.Add($"{file}: expired on {certificate.NotAfter.ToUniversalTime():u}; "
                + "make new certificates (`certs generate`) for both sides.");
            return false;
        }

        return true;
    }

    private static X509Certificate2? AddKey(
        X509Certificate2 certificate, string keyText, CertificateSide side, List<string> problems)
    {
        if (keyText.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
        {
            problems.Add($"{side.KeyFile}: is encrypted with a password; "
                + "Qlik and SsePlugin need an unencrypted PKCS #8 key (-----BEGIN PRIVATE KEY-----).");
            return null;
        }

        using AsymmetricAlgorithm? key = certificate.GetKeyAlgorithm() switch
        {
            RsaAlgorithm => RSA.Create(),
            EcAlgorithm => ECDsa.Create(),
            _ => null,
        };
        if (key is null || !keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            problems.Add(key is null
                ? $"{side.CertificateFile}: has a key of algorithm {certificate.GetKeyAlgorithm()}; use RSA or ECDSA."
                : $"{side.KeyFile}: holds no PEM private key (-----BEGIN PRIVATE KEY-----).");
            return null;
        }

        try
        {
            key.ImportFromPem(keyText);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            problems.Add($"{side.KeyFile}: is not a readable private key for {side.CertificateFile}: {e.Message}");
            return null;
        }

        if (!key.ExportSubjectPublicKeyInfo().AsSpan()
            .SequenceEqual(certificate.PublicKey.ExportSubjectPublicKeyInfo()))
        {
            problems.Add($"{side.KeyFile}: does not belong to {side.CertificateFile} (another key pair); "
                + "take both from the same `certs generate` run.");
            return null;
        }

        using var paired = key is RSA rsa
            ? certificate.CopyWithPrivateKey(rsa)
            : certificate.CopyWithPrivateKey((ECDsa)key);

        // SslStream on Windows cannot use an ephemeral key (dotnet/runtime#23749); a PKCS #12 round trip gives it a
        // usable one.
        return X509CertificateLoader.LoadPkcs12(paired.Export(X509ContentType.Pkcs12), password: null);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused a client certificate {Subject}: it {Problem}")]
        public static partial void ClientCertificateRefused(ILogger logger, string subject, string problem);

        [LoggerMessage(
            2,
            LogLevel.Warning,
            "No TLS handshake with {Peer}: a plaintext client, a client without a certificate or with a refused one; "
            + "Qlik's engine connects with its client certificate folder for this connection")]
        public static partial void HandshakeFailed(ILogger logger, string peer);

        [LoggerMessage(
            3,
            LogLevel.Warning,
            "TLS client {Peer} did not offer HTTP/2 (ALPN h2), so it is refused; Qlik's engine and gRPC clients do")]
        public static partial void NoHttp2(ILogger logger, string peer);

        [LoggerMessage(
            4,
            LogLevel.Warning,
            "{Count} more failed TLS connections within a second ({Failures}), not logged one by one: past {Limit} a "
            + "second the log counts them, so that a flood of them cannot flood it")]
        public static partial void FailuresCounted(ILogger logger, int count, string failures, int limit);
    }
}
