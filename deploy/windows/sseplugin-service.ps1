<#
.SYNOPSIS
Installs, starts, stops, shows or removes SsePlugin as a Windows service.

.DESCRIPTION
Run it in PowerShell as an administrator, from the folder the download was unpacked in (C:\Program Files\SsePlugin):

    .\deploy\windows\sseplugin-service.ps1 install   # creates the service and starts it
    .\deploy\windows\sseplugin-service.ps1 stop      # or start, status
    .\deploy\windows\sseplugin-service.ps1 remove    # stops and deletes the service; the files stay

install creates the service with automatic (delayed) start, restarts it when it fails (after 5 s, 5 s, then 30 s;
the count starts again after a day), lets its account read the program's folder and registers the event source
SsePlugin, under which the host writes a failed start to the Application log. The service runs as the virtual
account NT SERVICE\SsePlugin: an account of this service alone, with no password and few rights, that can be given
the certificate folder and nothing else (NT AUTHORITY\LocalService, the other choice, is shared by many services).
Settings are in appsettings.json beside SsePlugin.Host.exe ("Bind": "0.0.0.0" for a Qlik engine on another machine).

Then let the Qlik engine in, and no one else:

    New-NetFirewallRule -DisplayName "SsePlugin (Qlik analytic connection)" -Direction Inbound -Protocol TCP `
        -LocalPort 50051 -RemoteAddress <the Qlik engine's address> -Action Allow

.PARAMETER Action
install, start, stop, status or remove.

.PARAMETER Name
The service's name (default SsePlugin); a second host, unpacked in a folder of its own, needs another name.

.PARAMETER Account
The service's account: NT SERVICE\<Name> (default) or NT AUTHORITY\LocalService.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true, Position = 0)]
    [ValidateSet('install', 'start', 'stop', 'status', 'remove')]
    [string] $Action,

    [string] $Name = 'SsePlugin',

    [string] $Account = "NT SERVICE\$Name"
)

$ErrorActionPreference = 'Stop'
$folder = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
$executable = Join-Path $folder 'SsePlugin.Host.exe'

# sc.exe reports a failure by its exit code only.
function Invoke-Sc {
    & sc.exe @args | Out-Host
    if ($LASTEXITCODE -ne 0) {
        throw "sc.exe $($args -join ' ') failed with exit code $LASTEXITCODE."
    }
}

switch ($Action) {
    'install' {
        if (-not (Test-Path $executable)) {
            throw "$executable is not there: keep this script in the deploy\windows folder of the unpacked download."
        }
        New-Service -Name $Name -BinaryPathName "`"$executable`"" -DisplayName "SsePlugin ($Name)" `
            -Description 'Qlik server-side extension (analytic connection): C#, JavaScript and R functions for Qlik.' `
            -StartupType Automatic | Out-Null
        Invoke-Sc config $Name start= delayed-auto obj= $Account
        # Restart after a crash and after a stop with an error (failureflag), not after a stop asked for.
        Invoke-Sc failure $Name reset= 86400 actions= restart/5000/restart/5000/restart/30000
        Invoke-Sc failureflag $Name 1
        & icacls.exe $folder /grant "${Account}:(OI)(CI)RX" | Out-Host
        if ($LASTEXITCODE -ne 0) {
            throw "icacls.exe could not let $Account read $folder (exit code $LASTEXITCODE)."
        }
        # The host writes a failed start to the Application event log as source SsePlugin (a service has no
        # console); only an administrator may add the source.
        if (-not [System.Diagnostics.EventLog]::SourceExists('SsePlugin')) {
            [System.Diagnostics.EventLog]::CreateEventSource('SsePlugin', 'Application')
        }
        Start-Service -Name $Name
        Get-Service -Name $Name
    }
    'start' { Start-Service -Name $Name; Get-Service -Name $Name }
    'stop' { Stop-Service -Name $Name; Get-Service -Name $Name }
    'status' { Get-Service -Name $Name }
    'remove' {
        if ((Get-Service -Name $Name).Status -ne 'Stopped') {
            Stop-Service -Name $Name
        }
        # Remove-Service needs PowerShell 6 or later; sc.exe works in Windows PowerShell too.
        Invoke-Sc delete $Name
    }
}
