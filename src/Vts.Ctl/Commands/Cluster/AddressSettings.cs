using System.ComponentModel;
using Spectre.Console.Cli;

namespace Vts.Ctl.Commands.Cluster;

public sealed class AddressSettings : NodeSettings
{
    [CommandArgument(0, "<ADDRESS>")]
    [Description("The member's address, as `cluster show` lists it (akka.tcp://vts@host:port).")]
    public required string Address { get; init; }
}
