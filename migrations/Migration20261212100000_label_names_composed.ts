import { Migration } from '@mikro-orm/migrations';

/**
 * Label names in Unicode's composed form (NFC), as the server now keeps new ones, so that a name
 * typed again in either form meets the one stored (409), and does not make a second label that
 * looks the same. Of labels of one org whose names are one in that form, the one already composed
 * (else the oldest) keeps it. The others, and a name that grows past 100 characters in that form
 * (a few letters do), keep its first 61 characters with their id after it: no label is lost, no
 * two names meet, and the org can merge or rename them. A database in another encoding than UTF-8
 * (where PostgreSQL cannot normalize) is left as it is.
 */
export class Migration20261212100000_label_names_composed extends Migration {
  override async up(): Promise<void> {
    this.addSql(`do $$ begin
      if current_setting('server_encoding') = 'UTF8' then
        with composed as (
            select id, normalize(name, NFC) as name,
                   row_number() over (partition by org_id, normalize(name, NFC)
                                      order by name = normalize(name, NFC) desc, created_at, id) as place
              from labels),
          renamed as (
            select id, case when place = 1 and char_length(name) <= 100 then name
                            else left(name, 61) || ' (' || id::text || ')' end as name
              from composed)
        update labels set name = renamed.name
          from renamed
         where renamed.id = labels.id and labels.name <> renamed.name;
      end if;
    end $$;`);
  }

  override async down(): Promise<void> {
    // The names stay as they are: both forms were always allowed.
  }
}
