import { Migration } from '@mikro-orm/migrations';

/**
 * Label names in Unicode's composed form (NFC), as the server now keeps new ones, so that a name
 * typed again in either form meets the one stored (409), and does not make a second label that
 * looks the same. Of labels of one org whose names are one in that form, the one already composed
 * (else the oldest) keeps it; the others keep theirs with a few characters of their id after it,
 * so that none is lost and the org can merge or rename them.
 */
export class Migration20261212100000_label_names_composed extends Migration {
  override async up(): Promise<void> {
    this.addSql(`with composed as (
        select id, normalize(name, NFC) as name,
               row_number() over (partition by org_id, normalize(name, NFC)
                                  order by name = normalize(name, NFC) desc, created_at, id) as place
          from labels)
      update labels
         set name = case when composed.place = 1 then composed.name
                         else left(composed.name, 89) || ' (' || left(labels.id::text, 8) || ')' end
        from composed
       where composed.id = labels.id and labels.name <> composed.name;`);
  }

  override async down(): Promise<void> {
    // The names stay as they are: both forms were always allowed.
  }
}
