using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SsePlugin.Server.Security;

namespace SsePlugin.Host.Security;

/// <summary>
/// Makes the certificates for mutual TLS between Qlik and SsePlugin with .NET's own APIs (no OpenSSL): a root, a
/// server certificate for the plugin and a client certificate for the Qlik engine, RSA 2048 with SHA-256, keys in
/// unencrypted PKCS #8 PEM as gRPC reads them.
/// </summary>
internal static class CertificateGenerator
{
    /// <summary>How long the certificates are valid by default, in days.</summary>
    public const int DefaultDays = 825;

    private const int RootDays = 3650;
    private const string ClientName = "CN=Qlik engine (SsePlugin client), O=SsePlugin";

    /// <summary>Gets the names the server certificate is for when none are given: localhost, 127.0.0.1 and this
    /// machine's name.</summary>
    public static IReadOnlyList<string> DefaultHosts => ["localhost", "127.0.0.1", Environment.MachineName];

    /// <summary>Makes a root, a server and a client certificate and writes them in <c>plugin/</c> and <c>qlik/</c>
    /// under <paramref name="directory"/>.</summary>
    /// <param name="directory">The folder to write to; created when missing.</param>
    /// <param name="hosts">The host names and IP addresses Qlik may use to reach the plugin; the first is the server
    /// certificate's common name.</param>
    /// <param name="days">How long the server and client certificates are valid; the root lasts at least ten years.
    /// </param>
    /// <param name="overwrite">Whether existing files may be replaced; otherwise nothing is written when one exists.
    /// </param>
    /// <returns>The expiry of the server and client certificates.</returns>
    /// <exception cref="IOException">A file exists and <paramref name="overwrite"/> is false, or a file cannot be
    /// written.</exception>
    public static DateTimeOffset Generate(string directory, IReadOnlyList<string> hosts, int days, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        var existing = new[] { CertificateSide.Plugin, CertificateSide.Qlik }
            .SelectMany(side => side.Files.Select(file => Path.Combine(directory, side.Folder, file)))
            .Where(File.Exists)
            .ToList();
        if (existing.Count > 0 && !overwrite)
        {
            throw new IOException($"{existing.Count} of the files already exist, e.g. {existing[0]}; "
                + "nothing was written. Use --force to replace them.");
        }

        var notBefore = DateTimeOffset.UtcNow.AddDays(-1); // a day's grace for clocks that run behind
        var notAfter = notBefore.AddDays(days + 1);
        using var root = CreateRoot(notBefore, notBefore.AddDays(Math.Max(days, RootDays) + 1));
        using var server = CreateServer(root, hosts, notBefore, notAfter);
        using var client = CreateClient(root, notBefore, notAfter);
        WriteFolder(
            Path.Combine(directory, CertificateSide.Plugin.Folder), CertificateSide.Plugin, root, server, overwrite);
        WriteFolder(
            Path.Combine(directory, CertificateSide.Qlik.Folder), CertificateSide.Qlik, root, client, overwrite);
        return notAfter;
    }

    /// <summary>Makes a self-signed root certificate that may sign the server and client certificates.</summary>
    /// <param name="notBefore">Start of validity.</param>
    /// <param name="notAfter">End of validity.</param>
    /// <returns>The root, with its private key.</returns>
    public static X509Certificate2 CreateRoot(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = RSA.Create(2048);
        // A random part keeps the names of roots made in the same second apart: a certificate of the one is then
        // refused as issued by another root, not as one forged in the name of this root.
        var id = RandomNumberGenerator.GetHexString(8, lowercase: true);
        var request = NewRequest($"CN=SsePlugin root {notBefore:yyyy-MM-dd HH:mm:ss} {id}, O=SsePlugin", key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(
            new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    /// <summary>Makes the plugin's server certificate, for TLS server authentication under the given names.</summary>
    /// <param name="root">The root that signs it, with its private key.</param>
    /// <param name="hosts">Host names and IP addresses, written as subject alternative names; the first is also the
    /// common name.</param>
    /// <param name="notBefore">Start of validity.</param>
    /// <param name="notAfter">End of validity, within the root's.</param>
    /// <returns>The certificate, with its private key.</returns>
    public static X509Certificate2 CreateServer(
        X509Certificate2 root, IReadOnlyList<string> hosts, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentOutOfRangeException.ThrowIfZero(hosts.Count);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts)
        {
            if (IPAddress.TryParse(host, out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        return Issue(root, $"CN={hosts[0]}, O=SsePlugin", CertificateSide.Plugin, names.Build(), notBefore, notAfter);
    }

    /// <summary>Makes the Qlik engine's client certificate, for TLS client authentication.</summary>
    /// <param name="root">The root that signs it, with its private key.</param>
    /// <param name="notBefore">Start of validity.</param>
    /// <param name="notAfter">End of validity, within the root's.</param>
    /// <returns>The certificate, with its private key.</returns>
    public static X509Certificate2 CreateClient(
        X509Certificate2 root, DateTimeOffset notBefore, DateTimeOffset notAfter) =>
        Issue(root, ClientName, CertificateSide.Qlik, extension: null, notBefore, notAfter);

    /// <summary>Writes one side's folder with Qlik's file names; on Linux and macOS the key file is readable by its
    /// owner only.</summary>
    /// <param name="directory">The folder; created when missing.</param>
    /// <param name="side">Whose file names to use.</param>
    /// <param name="root">The root certificate (its key is not written).</param>
    /// <param name="certificate">This side's certificate, with its private key.</param>
    /// <param name="overwrite">Whether existing files may be replaced.</param>
    public static void WriteFolder(
        string directory, CertificateSide side, X509Certificate2 root, X509Certificate2 certificate, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(side);
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(certificate);
        Directory.CreateDirectory(directory);
        using var key = certificate.GetRSAPrivateKey()
            ?? throw new ArgumentException("The certificate has no RSA private key.", nameof(certificate));
        var certificatePem = certificate.ExportCertificatePem();
        Write(Path.Combine(directory, CertificateSide.RootFile), root.ExportCertificatePem(), overwrite, secret: false);
        Write(Path.Combine(directory, side.CertificateFile), certificatePem, overwrite, secret: false);
        Write(Path.Combine(directory, side.KeyFile), key.ExportPkcs8PrivateKeyPem(), overwrite, secret: true);
    }

    private static X509Certificate2 Issue(
        X509Certificate2 root,
        string subject,
        CertificateSide side,
        X509Extension? extension,
        DateTimeOffset notBefore,
        DateTimeOffset notAfter)
    {
        using var key = RSA.Create(2048);
        var request = NewRequest(subject, key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(side.Usage)], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(
            root, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (extension is not null)
        {
            request.CertificateExtensions.Add(extension);
        }

        using var issued = request.Create(root, notBefore, notAfter, RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    private static CertificateRequest NewRequest(string subject, RSA key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request;
    }

    private static void Write(string path, string pem, bool overwrite, bool secret)
    {
        if (overwrite)
        {
            File.Delete(path);
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows())
        {
            // Set at creation, so the key is never readable by others, not even for a moment.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var writer = new StreamWriter(path, options);
        writer.Write(pem);
        writer.Write('\n');
    }
}
