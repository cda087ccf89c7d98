/**
 * Stack outputs that are values of runner-ops.yml: each output's description names the fleet-file
 * key it goes to, so `aws cloudformation describe-stacks` (or the CDK CLI's output list) reads as
 * a fill-in sheet.
 */
import { CfnOutput } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type FleetRoles } from './fleet-roles';
import { pascal } from './naming';

export function fleetFileOutput(scope: Construct, id: string, value: string, fleetFileKey: string): CfnOutput {
  return new CfnOutput(scope, id, { value, description: `runner-ops.yml: ${fleetFileKey}` });
}

/** The instance profile names and the token parameter of one environment. */
export function environmentOutputs(scope: Construct, environment: string, fleet: FleetRoles, tokenParameter: string): void {
  const p = pascal(environment);
  fleetFileOutput(scope, `${p}ManagerInstanceProfile`, fleet.managerProfile.instanceProfileName, `environments.${environment}.manager.instanceProfile`);
  fleetFileOutput(scope, `${p}WorkerInstanceProfile`, fleet.workerProfile.instanceProfileName, `environments.${environment}.workers.instanceProfile`);
  fleetFileOutput(scope, `${p}TokenParameter`, tokenParameter, `environments.${environment}.gitlab.tokenParameter`);
}
