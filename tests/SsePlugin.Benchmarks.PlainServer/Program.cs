using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using SsePlugin.Benchmarks.PlainServer;

// A plain Grpc.AspNetCore server with the same transport settings as SsePlugin.Host: h2c on loopback,
// 2 MiB / 1 MiB HTTP/2 windows (as the host), 64 MiB messages, no per-call logging. Usage: --port N (default 50052).
var builder = WebApplication.CreateBuilder(args);
var port = builder.Configuration.GetValue("port", 50052);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 64 * 1024 * 1024);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2);
    kestrel.Limits.Http2.InitialConnectionWindowSize = 2 * 1024 * 1024;
    kestrel.Limits.Http2.InitialStreamWindowSize = 1024 * 1024;
});

var app = builder.Build();
app.MapGrpcService<PlainConnector>();
await app.RunAsync();
