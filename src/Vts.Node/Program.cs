using System.Reflection;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vts.AutoCopy.Cluster;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Hosting;
using Vts.AutoCopy.Persistence;
using Vts.AutoCopy.Transport;
using Vts.Node;
using Vts.Node.Admin;

// vts-node --config FILE [--config FILE …]   (docs/configuration.md)
const int InvalidConfiguration = 2;
// Downed by the rest of the cluster: not an error of this node's, and a start again rejoins (docs/cluster.md).
const int Downed = 3;

var files = new List<string>();
var checkOnly = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--config" when i + 1 < args.Length:
            files.Add(args[++i]);
            break;
        case "--check-config":
            checkOnly = true;
            break;
        case "-h" or "--help":
            Console.WriteLine("usage: vts-node [--check-config] --config FILE [--config FILE …]   (later files override earlier ones)");
            Console.WriteLine("  --check-config  read the configuration, say what is wrong with it (exit 2) or that it is valid (exit 0), and stop");
            return 0;
        case "--version":
            // build.ps1 package stamps it from git describe; a development build says 0.0.0-dev.
            Console.WriteLine($"vts-node {typeof(NodeConfig).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}");
            return 0;
        default:
            Console.Error.WriteLine($"vts-node: unexpected argument '{args[i]}'; usage: vts-node --config FILE [--config FILE …]");
            return InvalidConfiguration;
    }
}

VtsSettings settings;
Akka.Configuration.Config fileConfig;
try
{
    fileConfig = NodeConfig.Load(files);
    settings = VtsSettings.FromConfig(fileConfig);
    if (checkOnly)
    {
        Console.WriteLine($"vts-node: configuration valid: node {settings.NodeName}, {settings.AutoCopy.Pools.Count} pools, " +
            $"{settings.AutoCopy.Targets.Count} targets, {settings.Journal.Provider.ToString().ToLowerInvariant()} journal");
        return 0;
    }
    Directory.CreateDirectory(settings.StateDir);
}
catch (ConfigurationInvalidException e)
{
    Console.Error.WriteLine($"vts-node: invalid configuration: {e.Message}");
    return InvalidConfiguration;
}
catch (IOException e)
{
    Console.Error.WriteLine($"vts-node: invalid configuration: vts.state-dir cannot be created: {e.Message}");
    return InvalidConfiguration;
}

var akkaConfig = NodeConfig.ForAkka(fileConfig, settings);
try
{
    NodeConfig.RefuseSqliteCluster(akkaConfig, settings);
    NodeConfig.RefuseRemotingPortInUse(akkaConfig);
    await Journal.PrepareAsync(settings.Journal, akkaConfig, settings.StateDir);
}
catch (ConfigurationInvalidException e)
{
    Console.Error.WriteLine($"vts-node: invalid configuration: {e.Message}");
    return InvalidConfiguration;
}
catch (JournalUnusableException e)
{
    Console.Error.WriteLine($"vts-node: journal unusable: {e.Message}");
    return InvalidConfiguration;
}

// Every transfer this node may run at once blocks threads of the pool while its bytes flow (see TransferThreads).
TransferThreads.Reserve(settings.AutoCopy.MaxConcurrentTransfers);

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
// A start that fails (a port in use, say) is told below in one line; the host would log it again with its stack.
builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
builder.WebHost.ConfigureKestrel(k => k.Listen(settings.Admin.Listen));
builder.Services.AddSingleton(settings);
// The node joins its seed nodes itself, once it knows they run the same configuration (AutoCopyService).
builder.Services.AddSingleton(new ClusterSeeds(akkaConfig.GetStringList("akka.cluster.seed-nodes").Select(Akka.Actor.Address.Parse).ToList()));
akkaConfig = Akka.Configuration.ConfigurationFactory.ParseString("akka.cluster.seed-nodes = []").WithFallback(akkaConfig);
builder.Services.AddAkka(NodeConfig.SystemName, (akka, _) => akka.AddHocon(akkaConfig, HoconAddMode.Prepend));
builder.Services.AddSingleton<AutoCopyService>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<AutoCopyService>());

var app = builder.Build();

try
{
    AdminEndpoints.Map(app, settings); // starts the actor system
    var system = app.Services.GetRequiredService<ActorSystem>(); // the services are disposed of once the host has run
    await app.RunAsync();
    // The others downed this node (it was silent too long: a pause, a partition), so its actor system has stopped. It
    // must not look like a clean stop: with a non-zero code the service manager starts it again, and it rejoins.
    if (CoordinatedShutdown.Get(system).ShutdownReason is CoordinatedShutdown.ClusterDowningReason)
    {
        // Restarted at once, it may still be cut off from the others: it must then wait for their cluster, not start one.
        DownedMarker.Write(settings.StateDir, DateTimeOffset.UtcNow);
        Console.Error.WriteLine("vts-node: downed by the cluster (the other nodes could not hear it); its pools moved to them. " +
                                "Start it again to rejoin (systemd does, after RestartSec): until it has, it joins only the " +
                                $"cluster its other seed nodes run ({DownedMarker.PathIn(settings.StateDir)}).");
        return Downed;
    }
    return 0;
}
catch (NodeRefusedException e)
{
    Console.Error.WriteLine($"vts-node: refused by the cluster: {e.Message}");
    return InvalidConfiguration;
}
catch (Exception e) when (PortInUse(e, settings) is { } taken)
{
    Console.Error.WriteLine($"vts-node: invalid configuration: {taken} is in use by another process");
    return InvalidConfiguration;
}
catch (Exception e)
{
    Console.Error.WriteLine($"vts-node: stopped: {e.Message}");
    return 1;
}

/// <summary>Which configured port a failed start found taken: the admin API's (Kestrel says AddressInUseException) or
/// the EMS intake's (a socket error of its own).</summary>
static string? PortInUse(Exception failure, VtsSettings settings)
{
    for (var e = failure; e is not null; e = e.InnerException)
    {
        if (e is Microsoft.AspNetCore.Connections.AddressInUseException) return $"vts.admin.listen ({settings.Admin.Listen})";
        if (e is Vts.AutoCopy.Ems.EmsPortInUseException) return e.Message;
    }
    return null;
}
