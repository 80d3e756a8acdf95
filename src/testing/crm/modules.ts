// The CRM modules the local Zoho serves: Zoho's four standard ones below, and any a test adds
// (LocalZohoOptions.modules). Each has its fields, the mandatory ones, and the fields an
// upsert checks for duplicates by default (Zoho's "unique" fields of the module).

export type LocalZohoFieldType = 'text' | 'textarea' | 'email' | 'phone' | 'website' | 'picklist' | 'date' | 'datetime' | 'integer' | 'currency' | 'boolean';

export interface LocalZohoField {
  apiName: string;
  /** Default `text`. */
  type?: LocalZohoFieldType;
  /** A record cannot be created without it (`MANDATORY_NOT_FOUND`). */
  mandatory?: boolean;
}

export interface LocalZohoModule {
  /** The module's API name, as in `/crm/v8/<apiName>` (a custom module's is its own, e.g. `Projects`). */
  apiName: string;
  fields: LocalZohoField[];
  /** Fields an upsert matches on when the request names none (default: the module's email fields, else its first mandatory one). */
  duplicateCheckFields?: string[];
}

const f = (apiName: string, type: LocalZohoFieldType = 'text', mandatory = false): LocalZohoField => ({ apiName, type, mandatory });

/** Zoho's standard modules, with the fields of their standard layouts this stand-in keeps. */
export const STANDARD_MODULES: LocalZohoModule[] = [
  {
    apiName: 'Leads',
    fields: [
      f('Last_Name', 'text', true),
      f('First_Name'),
      f('Company'),
      f('Email', 'email'),
      f('Phone', 'phone'),
      f('Mobile', 'phone'),
      f('Lead_Source', 'picklist'),
      f('Lead_Status', 'picklist'),
      f('Description', 'textarea'),
    ],
  },
  {
    apiName: 'Contacts',
    fields: [
      f('Last_Name', 'text', true),
      f('First_Name'),
      f('Email', 'email'),
      f('Phone', 'phone'),
      f('Mobile', 'phone'),
      f('Title'),
      f('Department'),
      f('Description', 'textarea'),
    ],
  },
  {
    apiName: 'Accounts',
    fields: [
      f('Account_Name', 'text', true),
      f('Phone', 'phone'),
      f('Website', 'website'),
      f('Industry', 'picklist'),
      f('Account_Type', 'picklist'),
      f('Employees', 'integer'),
      f('Description', 'textarea'),
    ],
    duplicateCheckFields: ['Account_Name'],
  },
  {
    apiName: 'Deals',
    // Zoho's standard Deals layout makes the closing date mandatory beside name and stage.
    fields: [
      f('Deal_Name', 'text', true),
      f('Stage', 'picklist', true),
      f('Closing_Date', 'date', true),
      f('Amount', 'currency'),
      f('Probability', 'integer'),
      f('Description', 'textarea'),
    ],
    duplicateCheckFields: ['Deal_Name'],
  },
];

/** Fields Zoho sets on every record: they may be read and searched, never written. */
export const SYSTEM_FIELDS = [
  'id',
  'Owner',
  'Created_Time',
  'Modified_Time',
  'Created_By',
  'Modified_By',
  'Last_Activity_Time',
  'Layout',
  'Tag',
  'Locked__s',
  'Record_Image',
  '$approved',
  '$converted',
];

/** A module as the CRM uses it: its fields by API name. */
export class Module {
  readonly apiName: string;
  readonly fields: Map<string, Required<LocalZohoField>>;
  readonly mandatory: string[];
  readonly duplicateCheckFields: string[];
  /** The one custom view each module has here ("All <module>"); list takes its id as `cvid`. */
  readonly allViewId: string;

  constructor(definition: LocalZohoModule, index: number) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(definition.apiName))
      throw new TypeError(`LocalZoho: module API name ${JSON.stringify(definition.apiName)} is not one Zoho allows`);
    this.apiName = definition.apiName;
    this.fields = new Map(definition.fields.map((field) => [field.apiName, { type: 'text', mandatory: false, ...field }]));
    this.mandatory = [...this.fields.values()].filter((field) => field.mandatory).map((field) => field.apiName);
    const emails = [...this.fields.values()].filter((field) => field.type === 'email').map((field) => field.apiName);
    this.duplicateCheckFields = definition.duplicateCheckFields ?? (emails.length > 0 ? emails : this.mandatory.slice(0, 1));
    this.allViewId = `4150868${String(1000 + index).padStart(12, '0')}`;
  }

  readable(field: string): boolean {
    return this.fields.has(field) || SYSTEM_FIELDS.includes(field);
  }

  /** The fields `word` searches (text-like) and `email` / `phone` search. */
  ofType(...types: LocalZohoFieldType[]): string[] {
    return [...this.fields.values()].filter((field) => types.includes(field.type)).map((field) => field.apiName);
  }
}

export function modulesOf(extra: LocalZohoModule[] = []): Map<string, Module> {
  const all = [...STANDARD_MODULES, ...extra];
  const modules = new Map<string, Module>();
  all.forEach((definition, i) => {
    if (modules.has(definition.apiName)) throw new TypeError(`LocalZoho: module ${definition.apiName} is defined twice`);
    modules.set(definition.apiName, new Module(definition, i));
  });
  return modules;
}
